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

# Headless Chromium and its driver for the report's browser test (tests/report/test_report_browser.py);
# Debian packages, installed here so that no test downloads anything. CI (CI=true) needs them.
if ! command -v chromium >/dev/null 2>&1 || [ ! -x /usr/bin/chromedriver ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
  if command -v apt-get >/dev/null 2>&1 && $SUDO apt-get update -qq \
      && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; then
    echo "bootstrap: installed chromium and chromium-driver"
  elif [ "${CI:-}" = "true" ]; then
    echo "bootstrap: cannot install chromium chromium-driver (apt-get as root); CI needs them" >&2
    exit 1
  else
    echo "bootstrap: chromium not installed; the browser test will be skipped" >&2
  fi
fi
