"""Appointments: the appointment model and the rules for booking one."""
