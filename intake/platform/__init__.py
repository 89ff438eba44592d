"""Plumbing every capability uses and none owns: config, extensions, database, security, logs, urls, shared form fields."""
