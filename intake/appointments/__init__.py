"""Appointments: the clinic's diary and its rules.

models.py    practitioners, their sites and weekly hours, exceptions, appointment types,
             booking rules, appointments (the database refuses overlaps)
slots.py     the slot engine: free times from hours, exceptions, bookings and rules (pure)
diary.py     reads the diary from the database and asks the slot engine for free times
services.py  booking, moving and cancelling (a lost race becomes SlotTaken)
statuses.py  the request statuses and which may follow which (pure)
"""
