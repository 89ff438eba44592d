"""The clinic's own facts: its sites, its branding and the words it shows for each answer code."""
