"""Public information pages: home, privacy notice and the health check."""
