"""`recruit` with one more kind of job, for tests only: ``slow_count`` counts to
``parameters["rows"]`` with ``parameters["delay"]`` seconds a row, reporting its progress, and
appends "<job id> <claim token>" to ``parameters["log"]`` each time it starts (so a test sees
how many times, and by whom, a job ran). Run it as ``python -m tests.jobworker worker``."""

from __future__ import annotations

import time

from recruit.services import jobs


@jobs.register("slow_count", role="hr", label="Slow count (tests)")
def slow_count(job, progress) -> None:
    parameters = job.parameters
    with open(parameters["log"], "a", encoding="utf-8") as log:
        log.write(f"{job.id} {job.claimed_by}\n")
    rows = int(parameters["rows"])
    progress(0, rows)
    path = progress.file("count.txt", "text/plain")  # written as the rows go, like an export
    with open(path, "w", encoding="utf-8") as out:
        for row in range(rows):
            time.sleep(float(parameters["delay"]))
            out.write(".")
            out.flush()
            progress(row + 1, rows)
    path.write_text(f"{rows}\n", encoding="utf-8")


if __name__ == "__main__":
    from recruit.cli import main

    main()
