"""Structured reasoning: the orchestrator's loop and the runner that wraps it in a run."""

from __future__ import annotations

from agentk.agent.orchestrator import Orchestrator, Solution
from agentk.agent.runner import RunOutcome, create_run, execute_run, resume_run, run_competition
from agentk.agent.setup_checks import SetupCheckError

__all__ = [
    "Orchestrator",
    "RunOutcome",
    "SetupCheckError",
    "Solution",
    "create_run",
    "execute_run",
    "resume_run",
    "run_competition",
]
