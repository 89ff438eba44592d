"""What patients do for themselves after booking, without signing in: see, move or cancel their
appointment through the manage link in every email about it."""
