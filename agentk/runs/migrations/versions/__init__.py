"""Revisions, oldest first: ``0001`` the run table."""
