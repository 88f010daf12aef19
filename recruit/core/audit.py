"""How a form stands up to a test-wise candidate: the checks behind ``recruit bank audit``.

For one validated form (one language) it measures:

- per item: format, scale, key spread, option lengths in words, whether the longest option is
  the keyed best;
- heuristic strategies a coached candidate could use without reading the scenario (longest
  option, most courtesy words, the middle option, constant ratings), scored like a candidate and
  set against random responding (mean and 95th percentile of ``RANDOM_RESPONDENTS``);
- a template learner: leave one item out, train a text classifier on the other items' option
  texts (word and character n-grams, option length) to find the keyed best and the keyed worst,
  and count how often it finds them in the left-out item;
- readability: words per scenario and option, ordinary spaces where French typography wants a
  non-breaking one.

Limits (``LIMITS``): no strategy above the random 95th percentile, the learner finds the keyed
best and the keyed worst in at most 40 % of the items, scenarios and options within their word
counts, no ordinary space before French high punctuation. The learner needs scikit-learn (the
``audit`` extra), which the app itself never imports.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from recruit.core import scoring
from recruit.core.bank import RATING_MAX, RATING_MIN, Form, Item, Option

RANDOM_RESPONDENTS = 2000
SEED = 20261202
LEARNER_LIMIT = 0.40
SCENARIO_WORDS, OPTION_WORDS = 90, 35
CONSTANTS = (1, 3, 4, 6)

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# Courtesy and empathy markers a candidate might take for the "nice" answer.
COURTESY = {
    "fr": (
        r"merci",
        r"désolée?s?",
        r"excuse[rz]?",
        r"pardon",
        r"plaisir",
        r"bien sûr",
        r"compren\w*",
        r"volontiers",
        r"je vous en prie",
        r"s'il vous plaît",
        r"navrée?s?",
        r"inquiét\w*",
        r"rassur\w*",
        r"bienvenue",
        r"ravie?s?",
        r"avec joie",
    ),
    "en": (
        r"thanks?\w*",
        r"sorry",
        r"apologi\w*",
        r"pleasure",
        r"of course",
        r"understand\w*",
        r"please",
        r"happy to",
        r"glad",
        r"worry",
        r"welcome",
        r"delighted",
        r"certainly",
        r"reassur\w*",
    ),
}
# An ordinary space before : ; ? ! », or after «, where French wants a non-breaking one.
_FRENCH_SPACE = re.compile(r" [:;?!»]|« ")


def words(text: str) -> int:
    return len(_WORD.findall(text))


def courtesy(text: str, language: str) -> int:
    lowered = text.lower().replace("’", "'")
    return sum(len(re.findall(rf"\b{p}\b", lowered)) for p in COURTESY.get(language, ()))


# -- per item ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    id: str
    format: str
    scale: str
    setting: str | None
    key_spread: int
    scenario_words: int
    option_words: tuple[int, ...]  # in the file's option order
    longest_is_best: bool
    shortest_is_best: bool


def _longest(options: Iterable[Option]) -> Option:
    return max(options, key=lambda o: (words(o.text), len(o.text)))


def _shortest(options: Iterable[Option]) -> Option:
    return min(options, key=lambda o: (words(o.text), len(o.text)))


def item_rows(form: Form) -> list[ItemRow]:
    rows = []
    for item in form.items:
        low, high = item.key_range
        rows.append(
            ItemRow(
                id=item.id,
                format=item.format,
                scale=item.scale,
                setting=item.setting,
                key_spread=high - low,
                scenario_words=words(item.scenario),
                option_words=tuple(words(o.text) for o in item.options),
                longest_is_best=_longest(item.options).id == item.keyed_best.id,
                shortest_is_best=_shortest(item.options).id == item.keyed_best.id,
            )
        )
    return rows


# -- strategies -------------------------------------------------------------------------------

Scorer = Callable[[Item, Option], float]  # higher = the strategy likes the option more


def _spread_ratings(item: Item, score: Scorer) -> dict[str, int]:
    """Ratings from a preference order: the preferred option 6, the least preferred 1."""
    ranked = sorted(item.options, key=lambda o: score(item, o))
    n = len(ranked)
    span = RATING_MAX - RATING_MIN
    return {o.id: RATING_MIN + round(span * i / (n - 1)) for i, o in enumerate(ranked)}


def answer_by(form: Form, score: Scorer) -> dict[str, scoring.Response]:
    """A respondent who follows one preference on every item, never reading the scenario."""
    responses: dict[str, scoring.Response] = {}
    for item in form.items:
        ranked = sorted(item.options, key=lambda o: score(item, o))
        if item.format == "most_least":
            responses[item.id] = scoring.MostLeast(ranked[-1].id, ranked[0].id)
        elif item.format == "rating":
            responses[item.id] = scoring.Ratings(_spread_ratings(item, score))
        else:
            responses[item.id] = scoring.Choice(ranked[-1].id)
    return responses


def _by_length(item: Item, option: Option) -> float:
    return words(option.text) + len(option.text) / 10_000


def _middle(item: Item, option: Option) -> float:
    """Prefers the option of median length, dislikes the extremes."""
    lengths = sorted(words(o.text) for o in item.options)
    median = float(np.median(lengths))
    return -abs(words(option.text) - median) - item.option_ids.index(option.id) / 1000


def _random_response(item: Item, rng: random.Random) -> scoring.Response:
    ids = list(item.option_ids)
    if item.format == "most_least":
        best, worst = rng.sample(ids, 2)
        return scoring.MostLeast(best, worst)
    if item.format == "rating":
        return scoring.Ratings({o: rng.randint(RATING_MIN, RATING_MAX) for o in ids})
    return scoring.Choice(rng.choice(ids))


def random_respondents(form: Form, n: int = RANDOM_RESPONDENTS, seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)  # nosec B311 # simulated respondents, not a secret
    return [{item.id: _random_response(item, rng) for item in form.items} for _ in range(n)]


def _composite(form: Form, responses: dict) -> float:
    return _value(scoring.score_attempt(form, responses).composite)


@dataclass(frozen=True)
class Strategy:
    name: str
    composite: float
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Strategies:
    random_mean: float
    random_p95: float
    strategies: tuple[Strategy, ...]


def strategies(form: Form, n: int = RANDOM_RESPONDENTS, seed: int = SEED) -> Strategies:
    """Heuristic strategies' composites against random responding."""
    people = random_respondents(form, n, seed)
    composites = np.array([_composite(form, p) for p in people])
    language = form.language
    found = []
    for name, scorer in (
        ("longest as most, shortest as least", _by_length),
        ("most courtesy words as most", lambda i, o: courtesy(o.text, language) - _rank(i, o)),
        ("middle option as most", _middle),
    ):
        attempt = scoring.score_attempt(form, answer_by(form, scorer))
        found.append(Strategy(name, _value(attempt.composite), attempt.flags))
    rating_items = [i for i in form.items if i.format == "rating"]
    for constant in CONSTANTS if rating_items else ():
        flat = {i.id: scoring.Ratings(dict.fromkeys(i.option_ids, constant)) for i in rating_items}
        values = [_composite(form, p | flat) for p in people[: max(1, n // 10)]]
        flags = scoring.score_attempt(form, flat).flags
        found.append(Strategy(f"constant ratings {constant}", float(np.nanmean(values)), flags))
    return Strategies(
        float(np.nanmean(composites)), float(np.nanpercentile(composites, 95)), tuple(found)
    )


def _rank(item: Item, option: Option) -> float:
    """A tie-break that prefers longer options, as a coached candidate would."""
    return -_by_length(item, option) / 1000


def _value(value: float | None) -> float:
    return float("nan") if value is None else value


# -- template learner -------------------------------------------------------------------------


@dataclass(frozen=True)
class Learner:
    best_hits: tuple[str, ...]  # items whose keyed best the learner found
    worst_hits: tuple[str, ...]
    n_items: int
    chance: float  # mean of 1 / number of options
    composite: float

    @property
    def best_rate(self) -> float:
        return len(self.best_hits) / self.n_items

    @property
    def worst_rate(self) -> float:
        return len(self.worst_hits) / self.n_items


def _features(texts: list[str], fitted=None):
    """Word 1-2-grams, character 3-5-grams and option length, fitted on the training texts."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    if fitted is None:
        word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        word.fit(texts)
        char.fit(texts)
        fitted = (word, char)
    word, char = fitted
    lengths = np.array([[words(t) / OPTION_WORDS] for t in texts])
    return sparse.hstack([word.transform(texts), char.transform(texts), lengths]).tocsr(), fitted


def _classifier(matrix, labels: list[int]):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear")
    return model.fit(matrix, labels)


def template_learner(form: Form) -> Learner:
    """Leave each item out, learn the keyed best and worst from the others' option texts."""
    best_hits, worst_hits = [], []
    responses: dict[str, scoring.Response] = {}
    for held in form.items:
        train = [(o, item) for item in form.items if item.id != held.id for o in item.options]
        matrix, fitted = _features([o.text for o, _ in train])
        best_model = _classifier(matrix, [int(o.id == item.keyed_best.id) for o, item in train])
        worst_model = _classifier(matrix, [int(o.id == item.keyed_worst.id) for o, item in train])
        held_matrix, _ = _features([o.text for o in held.options], fitted)
        p_best = best_model.predict_proba(held_matrix)[:, 1]
        p_worst = worst_model.predict_proba(held_matrix)[:, 1]
        best = held.options[int(np.argmax(p_best))]
        order = np.argsort(-p_worst)
        worst = next(held.options[i] for i in order if held.options[i].id != best.id)
        if best.id == held.keyed_best.id:
            best_hits.append(held.id)
        if worst.id == held.keyed_worst.id:
            worst_hits.append(held.id)
        preference = dict(zip(held.option_ids, (p_best - p_worst).tolist(), strict=True))
        responses[held.id] = _learned_answer(held, best, worst, preference)
    chance = float(np.mean([1 / len(i.options) for i in form.items]))
    composite = _value(scoring.score_attempt(form, responses).composite)
    return Learner(tuple(best_hits), tuple(worst_hits), len(form.items), chance, composite)


def _learned_answer(
    item: Item, best: Option, worst: Option, preference: dict[str, float]
) -> scoring.Response:
    if item.format == "most_least":
        return scoring.MostLeast(best.id, worst.id)
    if item.format == "choice":
        return scoring.Choice(best.id)
    return scoring.Ratings(_spread_ratings(item, lambda _i, o: preference[o.id]))


# -- readability ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readability:
    scenario_words_max: int
    scenario_words_mean: float
    option_words_max: int
    option_words_mean: float
    long_scenarios: tuple[str, ...]  # item ids past SCENARIO_WORDS
    long_options: tuple[str, ...]  # "item/option" past OPTION_WORDS
    french_spaces: int  # ordinary spaces where French typography wants a non-breaking one
    french_space_samples: tuple[str, ...]


def _texts(form: Form) -> Iterable[str]:
    yield form.title
    yield form.intro
    yield from form.instructions.values()
    for scale in form.scales:
        yield scale.label
        yield scale.description
        if scale.short:
            yield scale.short
    for item in form.items:
        yield item.scenario
        if item.question:
            yield item.question
        for option in item.options:
            yield option.text
            yield option.rationale


def readability(form: Form) -> Readability:
    scenario = [words(i.scenario) for i in form.items]
    options = [(i.id, o.id, words(o.text)) for i in form.items for o in i.options]
    spaces, samples = 0, []
    if form.language == "fr":
        for text in _texts(form):
            for match in _FRENCH_SPACE.finditer(text):
                spaces += 1
                if len(samples) < 5:
                    start = max(0, match.start() - 20)
                    samples.append(text[start : match.end() + 5])
    return Readability(
        scenario_words_max=max(scenario),
        scenario_words_mean=float(np.mean(scenario)),
        option_words_max=max(n for *_, n in options),
        option_words_mean=float(np.mean([n for *_, n in options])),
        long_scenarios=tuple(i.id for i in form.items if words(i.scenario) > SCENARIO_WORDS),
        long_options=tuple(f"{i}/{o}" for i, o, n in options if n > OPTION_WORDS),
        french_spaces=spaces,
        french_space_samples=tuple(samples),
    )


# -- the whole audit --------------------------------------------------------------------------


@dataclass
class Audit:
    form: Form
    items: list[ItemRow]
    strategies: Strategies
    learner: Learner | None
    readability: Readability
    failures: list[str] = field(default_factory=list)


def audit_form(form: Form, *, learner: bool = True, respondents: int = RANDOM_RESPONDENTS) -> Audit:
    """Run every check on one form and list the limits it passes."""
    result = Audit(
        form,
        item_rows(form),
        strategies(form, respondents),
        template_learner(form) if learner else None,
        readability(form),
    )
    result.failures = _failures(result)
    return result


def _failures(audit: Audit) -> list[str]:
    failures = []
    s = audit.strategies
    for strategy in s.strategies:
        if strategy.composite > s.random_p95:
            failures.append(
                f"strategy '{strategy.name}' scores {strategy.composite:.1f}, above the random "
                f"95th percentile {s.random_p95:.1f}"
            )
    if audit.learner is not None:
        learned = audit.learner
        for what, rate in (("best", learned.best_rate), ("worst", learned.worst_rate)):
            if rate > LEARNER_LIMIT:
                failures.append(
                    f"the template learner finds the keyed {what} in {rate:.0%} of the items "
                    f"(limit {LEARNER_LIMIT:.0%})"
                )
    r = audit.readability
    if r.long_scenarios:
        failures.append(f"scenarios over {SCENARIO_WORDS} words: {', '.join(r.long_scenarios)}")
    if r.long_options:
        failures.append(f"options over {OPTION_WORDS} words: {', '.join(r.long_options)}")
    if r.french_spaces:
        failures.append(
            f"{r.french_spaces} ordinary space(s) before : ; ? ! » or after « "
            f"(e.g. {r.french_space_samples[0]!r})"
        )
    return failures


def report(audit: Audit) -> list[str]:
    """The audit as text lines, for the terminal."""
    form = audit.form
    lines = [f"== {form.form} ({form.language}), version {form.version}: {len(form.items)} items"]
    lines.append(
        "item  format      scale     setting         spread  words (options)   longest=best"
    )
    for row in audit.items:
        lines.append(
            f"{row.id:<5} {row.format:<11} {row.scale:<9} {row.setting or '-':<15} "
            f"{row.key_spread:>6}  {'/'.join(map(str, row.option_words)):<17} "
            f"{'yes' if row.longest_is_best else 'no'}"
        )
    longest = sum(r.longest_is_best for r in audit.items)
    shortest = sum(r.shortest_is_best for r in audit.items)
    lines.append(
        f"keyed best is the longest option in {longest}/{len(audit.items)} items, "
        f"the shortest in {shortest}"
    )
    s = audit.strategies
    lines.append(
        f"random responding ({RANDOM_RESPONDENTS} respondents): mean {s.random_mean:.1f}, "
        f"95th percentile {s.random_p95:.1f}"
    )
    for strategy in s.strategies:
        note = f"  [{', '.join(strategy.flags)}]" if strategy.flags else ""
        lines.append(f"  {strategy.name:<38} {strategy.composite:6.1f}{note}")
    if audit.learner is not None:
        learned = audit.learner
        lines.append(
            f"template learner (leave one item out): keyed best found in "
            f"{len(learned.best_hits)}/{learned.n_items} ({learned.best_rate:.0%}), keyed worst in "
            f"{len(learned.worst_hits)}/{learned.n_items} ({learned.worst_rate:.0%}); chance "
            f"{learned.chance:.0%}; its composite {learned.composite:.1f}"
        )
    r = audit.readability
    lines.append(
        f"readability: scenario words mean {r.scenario_words_mean:.0f}, max "
        f"{r.scenario_words_max} (limit {SCENARIO_WORDS}); option words mean "
        f"{r.option_words_mean:.0f}, max {r.option_words_max} (limit {OPTION_WORDS})"
    )
    if form.language == "fr":
        lines.append(f"French typography: {r.french_spaces} ordinary space(s) before : ; ? ! »")
    lines.extend(f"FAIL: {f}" for f in audit.failures)
    lines.append("PASS" if not audit.failures else f"{len(audit.failures)} limit(s) exceeded")
    return lines
