#!/usr/bin/env bash
# Every benchmark of benchmarks/RESULTS.md in one go, on a machine nothing else is loading.
# Each script runs polyret and the reference tool side by side and writes benchmarks/results/*.json
# and its key of benchmarks/results/summary.json. Takes about 30 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
uptime
$PY benchmarks/search.py --sizes 10000 100000 1000000 --rounds 3 --output benchmarks/results/search.json
$PY benchmarks/scaling.py --sizes 1000 10000 100000 1000000 --output benchmarks/results/scaling.json
$PY benchmarks/lareqa.py --scales 1 10 --query-ids 1190 --sklearn-queries 200 --output benchmarks/results/lareqa.json
$PY benchmarks/encode.py --n 1500 --rounds 2 --output benchmarks/results/encode.json
$PY benchmarks/train.py --precision bf16 --steps 6 --warmup 2 --rounds 2 --frozen
$PY benchmarks/train.py --precision fp32 --steps 4 --warmup 1 --rounds 2 --frozen
uptime
