"""The reception back office, one module per concern:

accounts.py  staff accounts, passwords, sign-in and who a login cookie names
sign_in.py   the session side of signing in: failures counted, the half-done sign-in, new sessions
two_factor.py  two-step sign-in: authenticator codes used once, hashed recovery codes, resets
listing.py   the request list's filters, one page of it with per-status counts, the CSV export
audit.py     the audit log: writing entries, the audit page, a request's history
services.py  handling one request: status changes, booking (rules in intake.appointments), notes
routes.py    the views of the `staff` blueprint; forms.py, models.py as everywhere
"""
