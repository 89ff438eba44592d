"""Email: an outbox written in the same transaction as the request, delivered by a worker with retries."""
