"""The attendance dashboard for the clinic manager (admins and reception): a table per site and
month, the same figures drawn as a chart (SVG by pygal, served as an image: no script runs), and a
CSV. A bad query string gets the default view with a message next to the field, and a 400."""

from __future__ import annotations

import csv
import io

import pygal
from flask import Response, current_app, render_template, request

from intake.platform.database import reads_only
from intake.platform.timeutil import today_in_london
from intake.staff import dashboard
from intake.staff.forms import DashboardQuery
from intake.staff.routes import bp, roles

MANAGERS = ("reception", "admin")


def _figures():
    """The checked query, the months and sites it asks for, their figures, and the page's status."""
    sites = current_app.config["CLINIC_SITES"]
    query = DashboardQuery(request.args, sites)
    valid = query.validate()
    chosen = [site for site in sites if site.code == query.site.data] if valid and query.site.data else list(sites)
    months = dashboard.months_ending(today_in_london(), int(query.months.data) if valid and query.months.data else 12)
    figures = dashboard.monthly_figures([site.code for site in chosen], months, cutoff_hours=current_app.config["MANAGE_CUTOFF_HOURS"])
    return query, chosen, months, figures, 200 if valid else 400


@bp.get("/dashboard")
@reads_only
@roles(*MANAGERS)
def attendance_dashboard():
    """Booked, attended, missed and cancelled appointments per site and month."""
    query, chosen, months, figures, status = _figures()
    return render_template("staff/dashboard.html", form=query, sites=chosen, months=months, figures=figures,
                           words=dashboard.FIGURE_WORDS, args=request.args.to_dict()), status


# The dashboard's two charts: appointments, and reminders (a different count, so a chart of its own).
CHARTS = {
    "appointments": ("Appointments by month", ("attended", "no_show", "cancelled_early", "cancelled_late", "refilled")),
    "reminders": ("Reminders by month", ("reminders_sent", "reminders_failed")),
}


@bp.get("/dashboard/<any(appointments, reminders):name>.svg")
@reads_only
@roles(*MANAGERS)
def attendance_chart(name: str):
    """One of the dashboard's charts: its figures as bars per month (every site chosen, added up)."""
    _, _, months, figures, _ = _figures()
    title, shown = CHARTS[name]
    chart = pygal.Bar(js=[], disable_xml_declaration=True, width=900, height=420, legend_at_bottom=True,
                      title=title, x_label_rotation=0, print_values=False)
    chart.x_labels = [month.strftime("%b %Y") for month in months]
    for figure in shown:
        chart.add(dashboard.FIGURE_WORDS[figure], [sum(getattr(row, figure) for row in figures if row.month == month) for month in months])
    return Response(chart.render(is_unicode=True), mimetype="image/svg+xml")


@bp.get("/dashboard.csv")
@reads_only
@roles(*MANAGERS)
def attendance_csv():
    """The dashboard's table as CSV: a row per site and month."""
    _, _, _, figures, _ = _figures()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["site", "month", *dashboard.FIGURES])
    for row in figures:
        writer.writerow([row.site_code, row.month.strftime("%Y-%m"), *(getattr(row, name) for name in dashboard.FIGURES)])
    return Response(buffer.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=attendance.csv"})
