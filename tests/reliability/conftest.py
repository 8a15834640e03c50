"""Reliability tests: fuzzed readers, CLI errors and faults (SIGKILL, full disk, corrupted files).

With ``POLYRET_RELIABILITY_RECORD=<file.json>`` every case's outcome is counted into that file at the
end of the session; ``python scripts/reliability_table.py`` runs this folder that way and writes
``docs/reliability.md``.
"""

from __future__ import annotations

import recorder  # this folder is on sys.path (pytest's default "prepend" import mode)


def pytest_sessionfinish(session, exitstatus):
    path = recorder.enabled()
    if path and recorder.counts():
        recorder.dump(path)
