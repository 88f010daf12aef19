"""Crash test: `load.py --crash` (same options).

    .venv/bin/python tests/load/crash.py --backend sqlite --candidates 200
    .venv/bin/python tests/load/crash.py --backend postgresql --candidates 200

Same setup and load as load.py; once 40 % of all page saves are acknowledged (--crash-at), the
gunicorn master and its workers are killed with SIGKILL (the whole process group). While it is
down the database is checked: every answer and submit acknowledged so far is there. After
--outage seconds gunicorn is restarted on the same database and port; every client whose request
failed waits for it, retries, and each candidate opens their link again: it must send them to
their first unanswered page (or the next one when the save that failed had committed without its
answer reaching the client), from where they finish the test. The final checks are load.py's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402

if __name__ == "__main__":
    load._in_venv()
    sys.exit(load.main(crash=True))
