"""Load test (and, with --crash, crash test) of the candidate flow on a real gunicorn.

    .venv/bin/python tests/load/load.py --backend sqlite --candidates 200
    .venv/bin/python tests/load/load.py --backend postgresql --candidates 200
    .venv/bin/python tests/load/load.py --backend postgresql --candidates 200 --crash

Creates a fresh database (SQLite in WAL mode, or a throwaway PostgreSQL cluster on a free
loopback port), runs `recruit db upgrade`, creates an organisation, recruiters, an HR user and
N invitations to the real bank's form, starts `gunicorn wsgi:app` (gthread, 2 workers x 4 threads)
on 127.0.0.1 and drives it: N candidates at once take the whole test while recruiters read
shortlists and HR downloads CSV exports. With --crash the gunicorn process group is SIGKILLed once
--crash-at of all page saves are acknowledged, then restarted on the same database; candidates
resume from their link. Afterwards it checks in the database that every acknowledged answer is
stored exactly once with the payload sent and that every acknowledged submit is scored, prints
requests/s, latency percentiles per request kind, errors and lost answers, and exits 1 on any
error or loss. See tests/load/harness.py for the details.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse(argv: list[str] | None = None, *, crash: bool = False):
    from tests.load.harness import Options

    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--candidates", type=int, default=defaults.candidates)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="candidate threads (default: all at once)"
    )
    parser.add_argument("--recruiters", type=int, default=defaults.recruiters)
    parser.add_argument("--hr", type=int, default=defaults.hr, help="HR clients exporting")
    parser.add_argument(
        "--seconds", type=float, default=defaults.seconds, help="deadline of the load phase"
    )
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--crash", action="store_true", default=crash, help="the crash test")
    parser.add_argument(
        "--crash-at",
        type=float,
        default=defaults.crash_at,
        help="share of all page saves acknowledged when gunicorn is killed",
    )
    parser.add_argument("--outage", type=float, default=defaults.outage, help="seconds down")
    parser.add_argument("--reader-pause", type=float, default=defaults.reader_pause)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = parser.parse_args(argv)
    if args.candidates < 1 or (args.concurrency is not None and args.concurrency < 1):
        parser.error("--candidates and --concurrency must be positive")
    return Options(
        backend=args.backend,
        candidates=args.candidates,
        concurrency=args.concurrency,
        recruiters=args.recruiters,
        hr=max(1, args.hr),
        seconds=args.seconds,
        workers=args.workers,
        threads=args.threads,
        crash=args.crash,
        crash_at=args.crash_at,
        outage=args.outage,
        reader_pause=args.reader_pause,
        seed=args.seed,
        keep=args.keep,
        log=lambda line: print(line, flush=True),
    )


def main(argv: list[str] | None = None, *, crash: bool = False) -> int:
    from tests.load import harness

    options = parse(argv, crash=crash)
    os.environ.setdefault("RECRUIT_MAIL_WORKER", "off")
    report = harness.execute(options)
    print(harness.describe(report), flush=True)
    return 0 if report.ok else 1


def _in_venv() -> None:
    """Run under the project's virtualenv when started with another Python."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve() and venv_python.exists():
        os.execv(str(venv_python), [str(venv_python), *sys.argv])


if __name__ == "__main__":
    _in_venv()
    sys.exit(main())
