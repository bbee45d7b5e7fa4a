#!/usr/bin/env bash
# The project's test command: lint, type-check, test. Run inside the project's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
pytest -q "$@"
