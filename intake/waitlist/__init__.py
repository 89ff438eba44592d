"""The waitlist: patients booked later than they would like, offered a time that frees up.

Its own package, below `staff` and `self_service`, because both free times (reception's cancels and
moves, erasure; the patient's cancels, moves and taken offers) and both must reach it. It imports
appointments, clinic, journey, mail and platform, never staff or self_service; the patient's own
actions on it (join, leave, take an offer), which are audited, live in `self_service`.
"""
