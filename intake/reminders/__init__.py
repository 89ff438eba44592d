"""Appointment reminders: when they go (plan), what they say (messages), queueing them as they
come due (queue), and the database rule that withdraws them when an appointment changes (withdrawal)."""
