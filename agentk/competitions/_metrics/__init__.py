"""Implementation of :mod:`agentk.competitions.metrics` (private; import from there)."""
