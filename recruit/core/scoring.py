"""One candidate's answers + a form -> item, scale and composite scores.

Every item score is a proportion of the maximum (POMP, 0..1) on each scale the item measures, so
that items of different formats can be averaged:

- ``most_least``: raw = +1 if the best pick is the keyed best, +1 if the worst pick is the keyed
  worst, -1 for each reversal (best pick = keyed worst, worst pick = keyed best); raw is in
  [-2, 2] and the item score is (raw + 2) / 4. Keyed best/worst = the option with the highest /
  lowest key on that scale.
- ``rating``: each option is rated 1..6; item score = 1 - mean |rating - key| / 5. With
  ``standardize_ratings`` the person's ratings are first z-scored over all their rating answers
  and mapped onto the keys' mean and SD (McDaniel et al., 2011), which removes a person's
  elevation and scatter before the distance is taken.
- ``choice``: item score = (key of the chosen option - lowest key) / (highest key - lowest key).

Scale score = 100 x mean of the item scores on that scale (0..100). Composite = the weighted mean
of the scale scores with the bank's weights (renormalised over the scales that have a score).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from recruit.core.bank import RATING_MAX, RATING_MIN, Form, Item

METHOD = "pomp-v1"
METHOD_STANDARDIZED = "pomp-v1+rating-std"


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
    items: dict[str, dict[str, float]]
    scales: dict[str, ScaleScore]
    composite: float | None
    method: str


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


def _most_least(item: Item, response: MostLeast, scale: str) -> float:
    best, worst = item.keyed_best(scale).id, item.keyed_worst(scale).id
    raw = (
        (response.best == best)
        + (response.worst == worst)
        - (response.best == worst)
        - (response.worst == best)
    )
    return (raw + 2) / 4


def _rating(item: Item, ratings: Mapping[str, float], scale: str) -> float:
    span = RATING_MAX - RATING_MIN
    distance = sum(abs(ratings[o.id] - o.keys[scale]) for o in item.options) / len(item.options)
    return 1 - distance / span


def _choice(item: Item, response: Choice, scale: str) -> float:
    keys = [o.keys[scale] for o in item.options]
    low, high = min(keys), max(keys)
    return (item.option(response.option).keys[scale] - low) / (high - low)


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _standardized_ratings(
    form: Form, responses: Mapping[str, Response], scale: str
) -> dict[str, dict[str, float]]:
    """Each rating mapped onto the keys' distribution on ``scale``, per item and option."""
    rated = [
        (form.item(item_id), r)
        for item_id, r in responses.items()
        if isinstance(r, Ratings) and scale in form.item(item_id).scales
    ]
    if not rated:
        return {}
    r_mean, r_sd = _mean_sd([float(v) for _, r in rated for v in r.values.values()])
    k_mean, k_sd = _mean_sd([float(o.keys[scale]) for item, _ in rated for o in item.options])
    mapped = {}
    for item, response in rated:
        mapped[item.id] = {
            option: min(
                RATING_MAX,
                max(RATING_MIN, k_mean + k_sd * ((value - r_mean) / r_sd if r_sd else 0.0)),
            )
            for option, value in response.values.items()
        }
    return mapped


def item_score(item: Item, response: Response, scale: str) -> float:
    """POMP score (0..1) of one answer on one scale of its item, without standardization."""
    if isinstance(response, MostLeast):
        return _most_least(item, response, scale)
    if isinstance(response, Ratings):
        return _rating(item, response.values, scale)
    return _choice(item, response, scale)


def score_attempt(
    form: Form, responses: Mapping[str, Response], *, standardize_ratings: bool = False
) -> AttemptScore:
    """Score every answered item, then each scale and the composite."""
    standardized = {
        s: _standardized_ratings(form, responses, s) for s in form.scale_ids if standardize_ratings
    }
    items: dict[str, dict[str, float]] = {}
    for item_id, response in responses.items():
        item = form.item(item_id)
        items[item_id] = {
            scale: (
                _rating(item, standardized[scale][item_id], scale)
                if standardize_ratings and isinstance(response, Ratings)
                else item_score(item, response, scale)
            )
            for scale in item.scales
        }
    scales: dict[str, ScaleScore] = {}
    for scale in form.scale_ids:
        values = [per_scale[scale] for per_scale in items.values() if scale in per_scale]
        if values:
            scales[scale] = ScaleScore(100 * sum(values) / len(values), len(values))
    weights = {s.id: s.weight for s in form.scales if s.id in scales and s.weight > 0}
    total = sum(weights.values())
    composite = sum(scales[s].value * w for s, w in weights.items()) / total if total > 0 else None
    method = METHOD_STANDARDIZED if standardize_ratings else METHOD
    return AttemptScore(items, scales, composite, method)
