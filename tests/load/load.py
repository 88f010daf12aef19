"""Load test (and, with --crash, crash test) of the candidate flow on a real gunicorn.

    .venv/bin/python tests/load/load.py --backend sqlite --candidates 200
    .venv/bin/python tests/load/load.py --backend postgresql --candidates 200
    .venv/bin/python tests/load/load.py --backend postgresql --candidates 200 --reading 0 --ramp 0
    .venv/bin/python tests/load/load.py --backend postgresql --candidates 200 --crash

Creates a fresh database (SQLite in WAL mode, or a throwaway PostgreSQL cluster on a free
loopback port), runs `recruit db upgrade`, creates an organisation, recruiters, an HR user and
N invitations to the real bank's form, starts `gunicorn wsgi:app` (gthread, 2 workers x 4 threads)
on 127.0.0.1 and drives it: N candidates take the whole test at the same time while recruiters
read shortlists and HR downloads CSV exports. Candidates read each page for --reading seconds
before answering it (4-12 s by default, less than real people take) and open their links over
--ramp seconds; `--reading 0 --ramp 0` sends every request as soon as the last one is answered,
which saturates the server and measures its capacity rather than what a candidate waits.

With --crash the gunicorn process group is SIGKILLed once --crash-at of all page saves are
acknowledged, then restarted on the same database; candidates resume from their link.
Afterwards it checks in the database that every acknowledged answer is stored exactly once with
the payload sent and that every acknowledged submit is scored, prints requests/s, latency
percentiles per request kind, errors and lost answers, and exits 1 on any error or loss. See
tests/load/harness.py for the details.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


# Real candidates take well over 10 s to read a page of three scenarios and their options; the
# default reading time is shorter than that, so the load is heavier than the real one.
READING = (4.0, 12.0)
RAMP = 10.0  # the candidates' first visits spread over 10 s rather than in one millisecond
READER_PAUSE = 1.0  # a recruiter or HR client reloads a page every second


def _seconds_range(text: str) -> tuple[float, float]:
    """'4-12' -> (4.0, 12.0); '0' -> (0.0, 0.0)."""
    try:
        low, _, high = text.partition("-")
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH seconds, got {text!r}") from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise argparse.ArgumentTypeError(f"expected 0 <= LOW <= HIGH, got {text!r}")
    return bounds


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
    parser.add_argument(
        "--reader-pause",
        type=float,
        default=None,
        help="seconds between two reads of a recruiter or HR client "
        f"(default: {READER_PAUSE} s with reading time, {defaults.reader_pause} s without)",
    )
    parser.add_argument(
        "--reading",
        type=_seconds_range,
        default=None,
        help="LOW-HIGH: seconds each candidate reads a page before answering it, drawn "
        f"uniformly (default {READING[0]:g}-{READING[1]:g}; 0 with --crash); 0: no reading "
        "time, every request sent as soon as the last one is answered (a saturated server)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=None,
        help=f"seconds over which the candidates open their links (default {RAMP:g} with "
        "reading time, else 0)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = parser.parse_args(argv)
    reading = args.reading if args.reading is not None else ((0.0, 0.0) if args.crash else READING)
    paced = reading[1] > 0
    ramp = args.ramp if args.ramp is not None else (RAMP if paced else 0.0)
    reader_pause = args.reader_pause
    if reader_pause is None:
        reader_pause = READER_PAUSE if paced else defaults.reader_pause
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
        reader_pause=reader_pause,
        reading=reading,
        ramp=max(0.0, ramp),
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
