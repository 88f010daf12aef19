"""One candidate's answers + a form -> item, scale and composite scores.

Every item is keyed on one scale, and every item score is a proportion of the maximum (POMP,
0..1), so that items of different formats can be averaged. ``k`` is an option's key, ``k_min``
and ``k_max`` the lowest and highest key of the item's options. Method ``pomp-v2`` (the default):

- ``most_least``: (k(most) - k(least) + (k_max - k_min)) / (2 (k_max - k_min)): 1 for the keyed
  best as "most" and the keyed worst as "least", 0 for the reverse, partial credit in between.
- ``rating``: the person's ratings are z-scored over all their rating answers and mapped onto the
  mean and SD of all the keys of those items (McDaniel et al., 2011); item score = 1 - mean
  |mapped - k| / 5, clipped to 0..1. Ratings with no spread, or fewer than
  ``MIN_DISTINCT_RATINGS`` distinct values over all rating items, give no rating-item scores
  (missing, not 0) and the attempt is flagged ``uniform_ratings``.
- ``choice``: (k(chosen) - k_min) / (k_max - k_min).

Scale score = 100 x mean item score of the scale's items (0..100). Composite = the weighted mean
of the scales that have a score, with the bank's weights renormalised over them.

Method ``pomp-v1`` (stored results before version 2; kept so that they can still be read and
recomputed): ``most_least`` = (raw + 2) / 4 with raw = +1 for each keyed pick, -1 for each
reversal; ``rating`` = 1 - mean |rating - k| / 5 on the raw ratings, or on standardized ratings
clipped to 1..6 for ``pomp-v1+rating-std``; ``choice`` as in v2; no flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from recruit.core.bank import RATING_MAX, RATING_MIN, Form, Item

METHOD = "pomp-v2"
METHOD_V1 = "pomp-v1"
METHOD_V1_STANDARDIZED = "pomp-v1+rating-std"
METHODS = (METHOD, METHOD_V1, METHOD_V1_STANDARDIZED)
# A rating profile needs at least this many distinct values over all rating items to be scored.
MIN_DISTINCT_RATINGS = 3
# Flags an attempt may carry: something a recruiter should look at before trusting the score.
UNIFORM_RATINGS = "uniform_ratings"
FLAGS = (UNIFORM_RATINGS,)


class InvalidResponse(ValueError):
    """An answer that does not fit its item (unknown option, value outside the scale...)."""


@dataclass(frozen=True)
class MostLeast:
    best: str
    worst: str


@dataclass(frozen=True)
class Ratings:
    values: Mapping[str, int]


@dataclass(frozen=True)
class Choice:
    option: str


Response = MostLeast | Ratings | Choice


@dataclass(frozen=True)
class ScaleScore:
    value: float
    n_items: int


@dataclass(frozen=True)
class AttemptScore:
    items: dict[str, float]  # item id -> POMP score; an item left unscored is absent
    scales: dict[str, ScaleScore]
    composite: float | None
    method: str
    flags: tuple[str, ...] = ()


def parse_response(item: Item, payload: Mapping) -> Response:
    """Check a stored or submitted answer against its item and return it typed."""
    options = set(item.option_ids)
    if not isinstance(payload, Mapping):
        raise InvalidResponse(f"{item.id}: the answer must be a mapping")
    if item.format == "most_least":
        best, worst = payload.get("best"), payload.get("worst")
        if best not in options or worst not in options:
            raise InvalidResponse(f"{item.id}: unknown option")
        if best == worst:
            raise InvalidResponse(f"{item.id}: the same option cannot be best and worst")
        return MostLeast(best, worst)
    if item.format == "rating":
        values = payload.get("ratings")
        if not isinstance(values, Mapping) or set(values) != options:
            raise InvalidResponse(f"{item.id}: every option needs one rating")
        for value in values.values():
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidResponse(f"{item.id}: ratings are whole numbers")
            if not RATING_MIN <= value <= RATING_MAX:
                raise InvalidResponse(f"{item.id}: rating outside {RATING_MIN}..{RATING_MAX}")
        return Ratings(dict(values))
    option = payload.get("choice")
    if option not in options:
        raise InvalidResponse(f"{item.id}: unknown option")
    return Choice(option)


def response_payload(response: Response) -> dict:
    """The JSON-ready form of an answer, as stored."""
    if isinstance(response, MostLeast):
        return {"best": response.best, "worst": response.worst}
    if isinstance(response, Ratings):
        return {"ratings": dict(sorted(response.values.items()))}
    return {"choice": response.option}


def _most_least(item: Item, response: MostLeast) -> float:
    low, high = item.key_range
    span = high - low
    return (item.option(response.best).key - item.option(response.worst).key + span) / (2 * span)


def _most_least_v1(item: Item, response: MostLeast) -> float:
    best, worst = item.keyed_best.id, item.keyed_worst.id
    raw = (
        (response.best == best)
        + (response.worst == worst)
        - (response.best == worst)
        - (response.worst == best)
    )
    return (raw + 2) / 4


def _rating(item: Item, ratings: Mapping[str, float]) -> float:
    span = RATING_MAX - RATING_MIN
    distance = sum(abs(ratings[o.id] - o.key) for o in item.options) / len(item.options)
    return min(1.0, max(0.0, 1 - distance / span))


def _choice(item: Item, response: Choice) -> float:
    low, high = item.key_range
    return (item.option(response.option).key - low) / (high - low)


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _standardized(
    rated: list[tuple[Item, Ratings]], *, clip: bool
) -> dict[str, dict[str, float]] | None:
    """Each rating mapped onto the keys' mean and SD, per item and option; None if no spread."""
    r_mean, r_sd = _mean_sd([float(v) for _, r in rated for v in r.values.values()])
    if r_sd == 0:
        return None
    k_mean, k_sd = _mean_sd([float(o.key) for item, _ in rated for o in item.options])
    mapped = {}
    for item, response in rated:
        values = {o: k_mean + k_sd * (v - r_mean) / r_sd for o, v in response.values.items()}
        if clip:
            values = {o: min(RATING_MAX, max(RATING_MIN, v)) for o, v in values.items()}
        mapped[item.id] = values
    return mapped


def is_uniform(rated: list[Ratings]) -> bool:
    """True when a person's ratings over all rating items cannot be told from a flat response."""
    distinct = {v for r in rated for v in r.values.values()}
    return len(distinct) < MIN_DISTINCT_RATINGS


def item_score(item: Item, response: Response) -> float:
    """POMP score (0..1) of one answer, rating items on the raw ratings (no standardization)."""
    if isinstance(response, MostLeast):
        return _most_least(item, response)
    if isinstance(response, Ratings):
        return _rating(item, response.values)
    return _choice(item, response)


def _item_scores(
    form: Form, responses: Mapping[str, Response], method: str
) -> tuple[dict[str, float], tuple[str, ...]]:
    rated = [(form.item(item_id), r) for item_id, r in responses.items() if isinstance(r, Ratings)]
    flags: tuple[str, ...] = ()
    mapped: dict[str, dict[str, float]] | None = {}
    if rated and method == METHOD:
        uniform = is_uniform([r for _, r in rated])
        mapped = None if uniform else _standardized(rated, clip=False)
        flags = (UNIFORM_RATINGS,) if mapped is None else ()
    elif rated and method == METHOD_V1_STANDARDIZED:
        mapped = _standardized(rated, clip=True)
        if mapped is None:  # v1 mapped a flat profile onto the keys' mean
            k_mean, _ = _mean_sd([float(o.key) for item, _ in rated for o in item.options])
            mapped = {item.id: dict.fromkeys(r.values, k_mean) for item, r in rated}
    scores: dict[str, float] = {}
    for item_id, response in responses.items():
        item = form.item(item_id)
        if isinstance(response, Ratings):
            if method == METHOD_V1:
                scores[item_id] = _rating(item, response.values)
            elif mapped is not None:
                scores[item_id] = _rating(item, mapped[item_id])
        elif isinstance(response, MostLeast) and method != METHOD:
            scores[item_id] = _most_least_v1(item, response)
        else:
            scores[item_id] = item_score(item, response)
    return scores, flags


def score_attempt(
    form: Form, responses: Mapping[str, Response], *, method: str = METHOD
) -> AttemptScore:
    """Score every answered item, then each scale from its own items and the composite."""
    if method not in METHODS:
        raise ValueError(f"unknown scoring method {method!r} (known: {', '.join(METHODS)})")
    items, flags = _item_scores(form, responses, method)
    by_scale: dict[str, list[float]] = {}
    for item_id, value in items.items():
        by_scale.setdefault(form.item(item_id).scale, []).append(value)
    scales = {
        scale: ScaleScore(100 * sum(by_scale[scale]) / len(by_scale[scale]), len(by_scale[scale]))
        for scale in form.scale_ids
        if scale in by_scale
    }
    weights = {s.id: s.weight for s in form.scales if s.id in scales and s.weight > 0}
    total = sum(weights.values())
    composite = sum(scales[s].value * w for s, w in weights.items()) / total if total > 0 else None
    return AttemptScore(items, scales, composite, method, flags)
