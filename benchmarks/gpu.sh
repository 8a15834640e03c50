#!/usr/bin/env bash
# GPU throughput of polyret in bf16 (encoding texts/s, training-step pairs/s, fraction of peak
# tensor FLOP/s); finishes within 5 minutes on one H200. Writes $OUT/gpu.json when OUT is set.
#
#   bash benchmarks/gpu.sh                  # prints a summary
#   OUT=/tmp/out bash benchmarks/gpu.sh     # ... and writes /tmp/out/gpu.json
#
# Extra arguments go to benchmarks/gpu_bench.py (e.g. --train-batch 128 --encode-texts 10000).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"

if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "benchmarks/gpu.sh: no CUDA GPU visible to torch ($("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo 'torch missing'));" \
         "run it on a GPU machine. Nothing was measured." >&2
    exit 3
fi

args=()
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    args+=(--output "$OUT/gpu.json")
fi
cd "$root"
exec timeout 290 "$python" "$here/gpu_bench.py" "${args[@]}" "$@"
