"""The bank audit: it sees a learnable template, a length giveaway and French spacing."""

import copy

import pytest
import yaml

from recruit.core import audit, bank
from tests.conftest import REAL_BANK

pytest.importorskip("sklearn")  # the audit extra; scripts/test installs it


def real(lang: str) -> dict:
    path = REAL_BANK / f"service-orientation.{lang}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def parse(raw: dict) -> bank.Form:
    return bank.parse_form(raw, "planted")


def best_of(item: dict) -> dict:
    return max(item["options"], key=lambda o: o["key"])


def worst_of(item: dict) -> dict:
    return min(item["options"], key=lambda o: o["key"])


@pytest.mark.parametrize(
    ("lang", "opening"), [("fr", "Sans attendre, vous"), ("en", "Straight away, you")]
)
def test_a_planted_recipe_is_found_by_the_learner_and_fails_the_audit(lang, opening):
    raw = real(lang)
    for item in raw["items"]:
        best = best_of(item)
        best["text"] = f"{opening} {best['text'][0].lower()}{best['text'][1:]}"
    planted = audit.audit_form(parse(raw), respondents=200)
    assert planted.learner.best_rate > 0.9
    assert any("keyed best" in f for f in planted.failures)
    # The same bank without the plant passes that limit.
    honest = audit.template_learner(parse(real(lang)))
    assert honest.best_rate <= audit.LEARNER_LIMIT
    assert honest.worst_rate <= audit.LEARNER_LIMIT


def test_a_length_giveaway_lifts_the_longest_option_strategy_above_random():
    raw = real("en")
    for item in raw["items"]:
        longest = max(audit.words(o["text"]) for o in item["options"])
        best = best_of(item)
        best["text"] += " " + " ".join(["indeed"] * (longest - audit.words(best["text"]) + 2))
        shortest = min(audit.words(o["text"]) for o in item["options"])
        worst = worst_of(item)
        worst["text"] = " ".join(worst["text"].split()[: max(1, shortest - 1)])
    result = audit.audit_form(parse(raw), learner=False, respondents=300)
    longest = next(s for s in result.strategies.strategies if s.name.startswith("longest"))
    # Keyed best always longest and keyed worst always shortest: every most/least and choice
    # item is answered perfectly, far above anything random responding reaches.
    assert longest.composite > result.strategies.random_p95
    assert any("longest as most" in f for f in result.failures)
    assert all(row.longest_is_best for row in result.items)


def test_constant_ratings_are_flagged_and_do_not_beat_random():
    form = parse(real("fr"))
    result = audit.strategies(form, n=300)
    constants = [s for s in result.strategies if s.name.startswith("constant")]
    assert [s.name for s in constants] == [f"constant ratings {c}" for c in (1, 3, 4, 6)]
    for strategy in constants:
        assert strategy.flags == ("uniform_ratings",)
        assert strategy.composite <= result.random_p95


def test_random_responding_is_near_the_middle_of_the_scale():
    form = parse(real("fr"))
    result = audit.strategies(form, n=500)
    # Expected POMP of a random most/least or choice pick is 0.5 by symmetry of the formula.
    assert 40 < result.random_mean < 60
    assert result.random_mean < result.random_p95


def test_readability_counts_words_and_ordinary_spaces_before_french_punctuation():
    raw = real("fr")
    assert audit.readability(parse(raw)).french_spaces == 0
    spoiled = copy.deepcopy(raw)
    item = spoiled["items"][0]
    item["scenario"] = item["scenario"].rstrip(".") + " ? « Bien » : oui !"
    item["options"][0]["text"] = " ".join(["mot"] * (audit.OPTION_WORDS + 1))
    result = audit.audit_form(parse(spoiled), learner=False, respondents=100)
    assert result.readability.french_spaces == 5  # " ?", "« ", " »", " :", " !"
    assert result.readability.long_options == (f"{item['id']}/{item['options'][0]['id']}",)
    assert any("ordinary space" in f for f in result.failures)
    assert any("options over 35 words" in f for f in result.failures)


def test_english_is_not_held_to_french_spacing():
    raw = real("en")
    raw["items"][0]["scenario"] += " Really ?"
    assert audit.readability(parse(raw)).french_spaces == 0


def test_words_and_courtesy_counts():
    assert audit.words("L'équipe vérifie d'abord, puis rappelle.") == 5
    assert audit.courtesy("Bien sûr, je comprends, merci !", "fr") == 3
    assert audit.courtesy("Sorry, of course I understand.", "en") == 3
