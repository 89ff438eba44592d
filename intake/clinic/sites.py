"""The clinic's sites: where patients can be seen, loaded from configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass

SITE_CODE_PATTERN = re.compile(r"^[a-z0-9-]{1,40}$")

# A fictional demo set so the app is usable out of the box; real clinics set CLINIC_SITES.
DEMO_SITES: list[dict[str, str]] = [
    {
        "code": "canal-side",
        "name": "Canal Side",
        "address": "14 Lock Keeper's Row, London N1 9ZZ",
        "email": "",
    },
    {
        "code": "riverside",
        "name": "Riverside",
        "address": "3 Ferry Lane, London SE1 9ZZ",
        "email": "",
    },
    {
        "code": "west-green",
        "name": "West Green",
        "address": "220 Orchard Parade, London W5 9ZZ",
        "email": "",
    },
]


@dataclass(frozen=True)
class Site:
    """One clinic location patients can choose."""

    code: str
    name: str
    address: str
    email: str = ""


def load_sites(raw: list[dict[str, str]] | None) -> list[Site]:
    """Turn configured site records into Sites, checking each has a usable code, name and address."""
    records = DEMO_SITES if raw is None else raw
    sites: list[Site] = []
    for record in records:
        code = str(record.get("code", "")).strip()
        name = str(record.get("name", "")).strip()
        address = str(record.get("address", "")).strip()
        if not SITE_CODE_PATTERN.match(code) or not name or not address:
            raise ValueError(f"Each clinic site needs a code (a-z, 0-9, -), a name and an address: {record!r}")
        sites.append(Site(code=code, name=name, address=address, email=str(record.get("email", "")).strip()))
    if not sites:
        raise ValueError("At least one clinic site must be configured.")
    if len({site.code for site in sites}) != len(sites):
        raise ValueError("Clinic site codes must be unique.")
    return sites


def site_by_code(sites: list[Site], code: str) -> Site | None:
    """Find a configured site by its code (None if the clinic has since removed it)."""
    return next((site for site in sites if site.code == code), None)
