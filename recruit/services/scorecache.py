"""Normalized scores kept between requests, for as long as the scores they come from stay the same.

A shortlist, a candidate's page, a comparison and the API's results all rank a whole campaign on
its norm: reading and normalizing 20,000 results costs about a second, and the same campaign is
asked for again and again while its scores do not move. Each app keeps the frames it computed
(``FrameCache``, per process, bounded by the number of rows kept) under a **stamp** of what they
were computed from, read in one grouped query on the results' (campaign_id, form_version,
scored_at, id) index:

- per campaign: its number of results, the latest ``scored_at`` and the highest result id (a
  new test, a rescore or a deletion changes one of them), and its title, site and language;
- the latest reference norm of the organisation (a refreshed norm moves every reference score).

A frame is served only under the stamp it was computed with: the figures shown are those a
computation from scratch gives (tests/web/test_results.py compares them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from recruit.data.models import Campaign, ReferenceNorm, Result
from recruit.extensions import db

# Rows kept per process over every cached frame (about 0.5 kB a row with a bank's scales).
DEFAULT_MAX_ROWS = 600_000
_EXTENSION = "recruit.scorecache"


class Entry:
    """A computed frame, its companion (the norm's description) and what was derived from it.

    The frame is shared by every request served from the cache: read it, never change it
    (``FrameCache.get`` hands out copies for callers that do). ``derived`` keeps what a page
    computes from the whole frame (ranks, a sort order, an index by invitation) under the same
    stamp, so that a second request pays only for its own rows.
    """

    __slots__ = ("extra", "frame", "stamp", "_derived", "_lock")

    def __init__(self, stamp: Hashable, frame: pd.DataFrame, extra: object):
        self.stamp, self.frame, self.extra = stamp, frame, extra
        self._derived: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def derived(self, name: Hashable, compute: Callable[[], object]) -> object:
        """``compute()``, made once per entry and kept with it (never change what it returns)."""
        with self._lock:
            if name in self._derived:
                return self._derived[name]
        value = compute()
        with self._lock:
            return self._derived.setdefault(name, value)


class FrameCache:
    """A least-recently-used map of key -> Entry, bounded by the frames' total rows.

    ``entry`` returns the shared entry (read-only); ``get`` a copy of its frame, so callers may
    add columns or filter as they like. A frame larger than the bound is computed and returned,
    never kept. Thread-safe (gthread workers).
    """

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS):
        self.max_rows = max_rows
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def entry(
        self,
        key: Hashable,
        stamp: Hashable,
        compute: Callable[[], tuple[pd.DataFrame, object]],
    ) -> Entry:
        """The entry for ``key`` computed under ``stamp`` (computed now if it is not kept)."""
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept.stamp == stamp:
                self._entries.move_to_end(key)
                return kept
        made = Entry(stamp, *compute())
        if len(made.frame) <= self.max_rows:
            with self._lock:
                old = self._entries.pop(key, None)
                if old is not None:
                    self._rows -= len(old.frame)
                self._entries[key] = made
                self._rows += len(made.frame)
                while self._rows > self.max_rows and self._entries:
                    _key, dropped = self._entries.popitem(last=False)
                    self._rows -= len(dropped.frame)
        return made

    def get(
        self,
        key: Hashable,
        stamp: Hashable,
        compute: Callable[[], tuple[pd.DataFrame, object]],
    ) -> tuple[pd.DataFrame, object]:
        """A copy of the frame for ``key`` under ``stamp``, and its companion."""
        made = self.entry(key, stamp, compute)
        return made.frame.copy(), made.extra

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0


def cache() -> FrameCache:
    """This app's cache (made on first use; RECRUIT_SCORE_CACHE_ROWS sets its bound)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kept = app.extensions.get(_EXTENSION)
    if kept is None:
        kept = FrameCache(int(app.config.get("RECRUIT_SCORE_CACHE_ROWS", DEFAULT_MAX_ROWS)))
        app.extensions[_EXTENSION] = kept
    return kept


def campaign_stamps(whole: tuple) -> dict[int, tuple]:
    """Each campaign's part of a ``stamp``: its row and its results' count, latest scored_at
    and highest id (what its own scores on its own norm were computed from)."""
    campaigns, counts, _reference = whole
    by_campaign = {row[0]: row for row in counts}
    return {row[0]: (row, by_campaign.get(row[0])) for row in campaigns}


def memo(name: str, size: int = 10_000) -> dict:
    """A per-app dict for small derived values (a campaign's summary...), emptied when it holds
    ``size`` entries; callers keep (stamp, value) in it and check the stamp."""
    kept = current_app.extensions.setdefault(f"{_EXTENSION}.{name}", {})
    if len(kept) >= size:
        kept.clear()
    return kept


def stamp(organisation_id: int, campaign_ids: Sequence[int] | None) -> tuple:
    """What the organisation's scores in these campaigns (all if None) were computed from."""
    where = [Campaign.organisation_id == organisation_id]
    if campaign_ids is not None:
        where.append(Campaign.id.in_([int(i) for i in campaign_ids]))
    campaigns = db.session.execute(
        sa.select(Campaign.id, Campaign.title, Campaign.site, Campaign.language)
        .where(*where)
        .order_by(Campaign.id)
    ).all()
    counts = db.session.execute(
        sa.select(
            Result.campaign_id,
            sa.func.count(),
            sa.func.max(Result.scored_at),
            sa.func.max(Result.id),
        )
        .where(Result.campaign_id.in_([row[0] for row in campaigns]))
        .group_by(Result.campaign_id)
        .order_by(Result.campaign_id)
    ).all()
    reference = db.session.scalar(
        sa.select(sa.func.max(ReferenceNorm.id)).where(
            ReferenceNorm.organisation_id == organisation_id
        )
    )
    return (
        tuple(tuple(row) for row in campaigns),
        tuple(tuple(row) for row in counts),
        reference,
    )
