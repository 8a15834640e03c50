#!/usr/bin/env bash
# Run a research grid unattended, one cell at a time, committing each finished cell's compact results
# (cell.json, gzip results with per-query scores, training curves; never weights) so that a killed
# session loses at most the cell in progress and the next working period resumes from the commits.
#
# Run it from a separate clone at a fixed commit, with its own venv (the code must not move under it):
#   git clone /path/to/polyret /work/grid && cd /work/grid && git checkout <commit>
#   bash scripts/bootstrap.sh
#   nohup bash scripts/run-grid.sh configs/experiments/rq-complex-beir.yaml docs/results/rq-complex-beir \
#         --data-dir ../shared/data > grid.log 2>&1 &
# Usage: scripts/run-grid.sh CONFIG OUT [more 'polyret experiment run' options]
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1 out=$2
shift 2
commit() {
  git add -- "$out" && git commit -q -m "$1" -- "$out" || true
}
while true; do
  log=$(mktemp)
  .venv/bin/polyret experiment run "$config" --out "$out" --max-cells 1 --no-report "$@" 2>&1 | tee -a "$log" | tail -n 3
  if grep -q '^0 cell(s) run' "$log"; then
    rm -f "$log"
    break
  fi
  rm -f "$log"
  commit "results: $(basename "$out"): $(.venv/bin/polyret experiment status "$out" | head -n 1 | sed 's/^.*: //')"
done
.venv/bin/polyret report "$out"
commit "results: $(basename "$out"): report"
