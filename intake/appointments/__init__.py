"""Appointments: the appointment model (models.py), the request statuses and which may follow which
(statuses.py, pure), and the rules for booking one (services.py)."""
