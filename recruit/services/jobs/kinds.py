"""The kinds of job: one registered function each, ``kind -> function(job, progress)``.

A kind's function does the work of one job in the worker's app context, with the job's
language in force (``job.parameters["language"]``). It reports how far it is through
``progress(done, total)``, asks ``progress.file(name, mimetype)`` for the path to write its
file to (if it makes one), and may leave database changes in the session without committing:
the runner commits them together with the job's "done", or rolls them back if the job fails or
was taken over. ``JobFailed`` ends a job with a message for its user; any other exception ends
it with a generic reason (logged in full).

Adding a kind is one decorated function, wherever it belongs (the technical manual and the
fairness recomputations of later issues slot in the same way)::

    @kinds.register("manual", role="hr", label=_l("Manuel technique (PDF)"))
    def build_manual(job, progress): ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class JobFailed(Exception):
    """The job cannot be done, for a reason its user can read (already translated)."""


class JobLost(Exception):
    """The job's claim was taken over (its heartbeat went stale): stop without finishing it."""


class Progress(Protocol):
    """What a kind's function is handed to report its progress and write its file."""

    def __call__(self, done: int, total: int | None = None) -> None: ...

    def file(self, name: str, mimetype: str) -> Path: ...


@dataclass(frozen=True)
class Kind:
    """A registered kind: its function, the role that may see its jobs, its label."""

    name: str
    function: Callable[[Any, Progress], None]
    role: str
    label: Any  # a lazy string: the job page's title


KINDS: dict[str, Kind] = {}


def register(name: str, *, role: str, label):
    """Register ``function(job, progress)`` as the kind ``name`` (a decorator)."""

    def decorator(function):
        KINDS[name] = Kind(name, function, role, label)
        return function

    return decorator


def get(name: str) -> Kind | None:
    return KINDS.get(name)
