"""Templates compiled once per run instead of once per test app.

Every test builds its own app, and each app (and each of the page caches' overlays of its Jinja
environment, which copy the environment's options when the app is built) would compile every
template it renders again. Jinja's public bytecode-cache interface keeps them for the whole run;
what a page renders is exactly what it would be without the cache.
"""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache


class TemplateBytecode(BytecodeCache):
    """Compiled templates kept in memory for the whole run.

    Jinja checks each entry against its template's source, so a changed template is compiled afresh.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


def share_compiled_templates() -> None:
    """Give every app's Jinja environments, the page caches' overlays too, one bytecode cache."""
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": TemplateBytecode()}
