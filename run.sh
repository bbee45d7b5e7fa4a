#!/usr/bin/env bash
# The main job: install AgentK into ./.venv (first time only) and run it on a built-in offline competition.
# Usage: bash run.sh [COMPETITION] [extra `agentk run` options]   (default: churn, 60 s budget)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/agentk ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e .
fi
competition="${1:-churn}"
shift || true
exec .venv/bin/agentk run "$competition" --budget 60 "$@"
