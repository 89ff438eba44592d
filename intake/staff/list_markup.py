"""The rows of the back-office list rendered in Python rather than by a Jinja loop.

Twenty-five rows of seven cells, each through Jinja's attribute lookups, filters and escaping,
were about a fifth of the list's cost. Every value a patient typed is escaped here as the
template would have escaped it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from markupsafe import Markup, escape

from intake.platform.timeutil import LONDON


def london_time(moment: datetime) -> str:
    """A UTC time as clinic (Europe/London) time, as the back office shows it."""
    return moment.astimezone(LONDON).strftime("%-d %b %Y, %H:%M")


def request_rows(rows: Iterable, detail_prefix: str, statuses: Mapping[str, str]) -> Markup:
    """The table rows of the list: reference (linked), urgency, name, phone, site, status, received.

    `detail_prefix` is the request page's address without the reference, which is capital
    letters and digits and so goes into a path as it is.
    """
    html = []
    for row in rows:
        flagged = row.urgency != "routine"
        urgency = escape(row.urgency)
        reference = escape(row.reference)
        html.append(
            f'<tr class="{f"table__row--{urgency}" if flagged else ""}">\n'
            f'        <td><a href="{escape(detail_prefix)}{reference}">{reference}</a></td>\n'
            f'        <td>{f"""<strong class="tag tag--{urgency}">{escape(row.urgency.capitalize())}</strong>""" if flagged else "Routine"}</td>\n'
            f"        <td>{escape(row.first_name)} {escape(row.last_name)}</td>\n"
            f"        <td>{escape(row.phone)}</td>\n"
            f"        <td>{escape(row.site_code)}</td>\n"
            f"        <td>{escape(statuses[row.status])}</td>\n"
            f"        <td>{escape(london_time(row.created_at))}</td>\n"
            f"      </tr>"
        )
    return Markup("\n      ".join(html))
