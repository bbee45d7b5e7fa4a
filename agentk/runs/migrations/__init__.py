"""Alembic migrations of the tables agentk owns (the run table); applied by :func:`agentk.runs.schema.upgrade`."""
