"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sync workers, one per core plus one: pages are short and CPU-bound, so threads would only
queue behind Python's lock. Every setting can be changed with gunicorn's own command-line flags.
"""

import os

from gunicorn.glogging import Logger

from intake.platform.logsafe import escape_controls_in

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
worker_class = "sync"
threads = 1
# A sync worker is killed once it has been silent this long, even while it streams a download:
# an unfiltered CSV export of a million requests took 19 s here (benchmarks/export_memory.py),
# so 60 s leaves room for a server half as fast before the file would be cut short.
timeout = 60
graceful_timeout = 20
# Behind a reverse proxy that buffers slow clients (nginx), as sync workers need.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
# The path only: a query string (a staff search for a patient's name) or a referrer holding one
# would put personal data in the access log. Method, path, status, size and time are enough.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


class EscapingLogger(Logger):
    """gunicorn's logs with control characters escaped in every line: a path asked for as
    /%0aforged or /%1b[31m must not write a second line or colour the terminal reading it."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        escape_controls_in(*self.error_log.handlers, *self.access_log.handlers)


logger_class = EscapingLogger
