"""Reception's waitlist page, on the `staff` blueprint: per site, who is waiting for an earlier
time in order of asking, what each has been offered and what became of it, and the times lately
refilled. A bad query string shows the first site with a message next to the field, and a 400."""

from __future__ import annotations

from flask import current_app, render_template, request

from intake.platform.database import reads_only
from intake.platform.timeutil import utcnow
from intake.staff.forms import WaitlistQuery
from intake.staff.routes import bp, roles
from intake.waitlist import listing

OFFER_STATES = {
    "open": "Open", "expired": "Expired", "taken": "Taken", "gone": "Gone to someone else", "declined": "Said no",
    "withdrawn": "Withdrawn (left the waitlist)",
}


@bp.get("/waitlist")
@reads_only
@roles("reception", "admin")
def waitlist():
    """Who is waiting for an earlier time at a site, first to ask first, and what they have been offered."""
    sites = current_app.config["CLINIC_SITES"]
    query = WaitlistQuery(request.args, sites)
    valid = query.validate() if request.args.get("site") is not None else True
    site = next((site for site in sites if valid and site.code == query.site.data), sites[0])
    now = utcnow()
    return render_template("staff/waitlist.html", form=query, site=site, waiting=listing.waiting_at(site.code, now),
                           refilled=listing.lately_refilled(site.code, now), states=OFFER_STATES), 200 if valid else 400
