#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install polyret with its pinned dependencies.
# torch is pinned (==2.13.0, the CPU build on these machines); an unpinned torch pulls CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e ".[dev]"
