#!/usr/bin/env bash
# Build the peer AutoML environments for benchmarks/suite.py --peers (separate from AgentK's: AutoGluon pins
# pandas<2.4 and flaml[automl] pins xgboost<3).
#
#   benchmarks/peers/setup_envs.sh [autogluon] [flaml]     (default: both)
#
# PYTHON picks the interpreter (default python3, 3.11). torch==2.13.0 is installed first in the AutoGluon venv so
# that pip takes the CPU build instead of resolving a multi-GB CUDA one. Re-running rebuilds from scratch.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
NICE=(nice -n 10)
TORCH_VERSION="2.13.0"
AUTOGLUON_VERSION="1.6.3"
FLAML_VERSION="2.7.0"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(autogluon flaml)

build() {
    local name="$1"
    shift
    local venv="$HERE/.venv-$name"
    local start=$SECONDS
    echo "== building $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "${NICE[@]}" "$venv/bin/python" -m pip install --quiet --upgrade pip
    while [ $# -gt 0 ]; do
        # each argument is one pip install step, so the order is kept (torch before anything that needs it)
        # shellcheck disable=SC2086
        "${NICE[@]}" "$venv/bin/python" -m pip install --quiet $1
        shift
    done
    echo "== $name ready in $((SECONDS - start)) s, $(du -sh "$venv" | cut -f1)"
    "$venv/bin/python" -m pip freeze > "$HERE/.venv-$name/requirements.lock"
}

for target in "${targets[@]}"; do
    case "$target" in
        autogluon)
            build autogluon "torch==$TORCH_VERSION" "autogluon.tabular[all]==$AUTOGLUON_VERSION"
            "$HERE/.venv-autogluon/bin/python" -c "import autogluon.tabular, torch; print('autogluon', autogluon.tabular.__version__, 'torch', torch.__version__)"
            ;;
        flaml)
            build flaml "flaml[automl]==$FLAML_VERSION"
            "$HERE/.venv-flaml/bin/python" -c "import flaml, xgboost, lightgbm; print('flaml', flaml.__version__, 'xgboost', xgboost.__version__)"
            ;;
        *)
            echo "unknown peer: $target (expected autogluon or flaml)" >&2
            exit 2
            ;;
    esac
done
