"""The bank loader: every kind of mistake is reported with its file, item and field."""

import copy
from collections import Counter

import pytest
import yaml

from recruit.core import bank
from tests.conftest import MINI_BANK, REAL_BANK, mini_form_data, write_form


def problems_for(tmp_path, fr: dict, en: dict | None = None):
    write_form(tmp_path, fr)
    write_form(tmp_path, en if en is not None else mini_form_data("en"))
    forms, problems = bank.check_bank(tmp_path)
    return problems


def test_the_mini_bank_is_valid_and_both_languages_load():
    loaded = bank.load_bank(MINI_BANK)
    assert loaded.languages("mini") == ["en", "fr"]
    fr = loaded.get("mini", "fr")
    assert [i.id for i in fr.items] == ["m1", "m2", "m3"]
    assert fr.page_count == 2


def test_the_real_bank_covers_every_scale_and_format_in_both_languages():
    loaded = bank.load_bank(REAL_BANK)
    fr = loaded.get("service-orientation", "fr")
    en = loaded.get("service-orientation", "en")
    assert len(fr.items) >= 36
    assert [i.id for i in fr.items] == [i.id for i in en.items]
    formats = Counter(i.format for i in fr.items)
    assert formats["most_least"] >= 18 and formats["rating"] >= 8 and formats["choice"] >= 1
    per_scale = Counter(i.scale for i in fr.items)
    assert set(per_scale) == set(fr.scale_ids)
    assert min(per_scale.values()) >= 6
    assert per_scale["noblesse"] >= 8
    for item in fr.items:
        assert 4 <= len(item.options) <= 5
        keys = sorted(o.key for o in item.options)
        assert keys[-1] > keys[-2] and keys[0] < keys[1], item.id


def test_every_item_of_the_real_bank_is_keyed_on_one_scale_the_same_in_both_languages():
    loaded = bank.load_bank(REAL_BANK)
    fr, en = (loaded.get("service-orientation", lang) for lang in ("fr", "en"))
    for item in fr.items:
        twin = en.item(item.id)
        assert item.scale == twin.scale and item.format == twin.format
        assert [o.key for o in item.options] == [o.key for o in twin.options]
        assert item.setting is not None


def test_unknown_scale_names_file_item_and_field(tmp_path):
    fr = mini_form_data()
    fr["items"][1]["scale"] = "politesse"
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert problem.item == "m2"
    assert problem.field == "scale"
    assert "politesse" in problem.message


def test_duplicate_item_id_is_reported_on_the_second_item(tmp_path):
    fr = mini_form_data()
    fr["items"][2]["id"] = "m1"
    found = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert any(p.item == "m1" and p.field == "id" and "duplicate" in p.message for p in found)


def test_missing_key_names_the_option(tmp_path):
    fr = mini_form_data()
    del fr["items"][2]["options"][1]["key"]
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert (problem.item, problem.field) == ("m3", "options[b].key")
    assert "required" in problem.message.lower()


def test_an_item_keyed_on_two_scales_is_refused(tmp_path):
    fr = mini_form_data()
    item = fr["items"][2]
    item["scales"] = [item.pop("scale"), "ecoute"]
    found = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert {(p.item, p.field) for p in found} >= {("m3", "scale"), ("m3", "scales")}


def test_missing_field_names_the_option_field(tmp_path):
    fr = mini_form_data()
    del fr["items"][0]["options"][2]["rationale"]
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert (problem.item, problem.field) == ("m1", "options[c].rationale")
    assert "required" in problem.message.lower()


def test_key_outside_the_range_is_refused(tmp_path):
    fr = mini_form_data()
    fr["items"][0]["options"][0]["key"] = 9
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert (problem.item, problem.field) == ("m1", "options[a].key")


@pytest.mark.parametrize("end", ["highest", "lowest"])
@pytest.mark.parametrize("item", [0, 1, 2])
def test_every_item_needs_a_single_best_and_a_single_worst_option(tmp_path, item, end):
    fr = mini_form_data()
    options = fr["items"][item]["options"]
    pick = max if end == "highest" else min
    extreme = pick(o["key"] for o in options)
    next(o for o in options if o["key"] != extreme)["key"] = extreme
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert problem.item == f"m{item + 1}" and f"{end} key" in problem.message


def test_unknown_format_is_refused(tmp_path):
    fr = mini_form_data()
    fr["items"][0]["format"] = "essay"
    (problem,) = [p for p in problems_for(tmp_path, fr) if p.file == "mini.fr.yaml"]
    assert (problem.item, problem.field) == ("m1", "format")


def test_sibling_language_file_with_other_item_ids(tmp_path):
    en = mini_form_data("en")
    en["items"][2]["id"] = "m9"
    found = problems_for(tmp_path, mini_form_data(), en)
    assert {(p.file, p.item, p.field) for p in found} == {
        ("mini.en.yaml", "m3", "id"),
        ("mini.en.yaml", "m9", "id"),
    }


def test_sibling_language_file_with_other_keys(tmp_path):
    en = mini_form_data("en")
    en["items"][0]["options"][1]["key"] = 2
    (problem,) = problems_for(tmp_path, mini_form_data(), en)
    assert (problem.file, problem.item, problem.field) == ("mini.en.yaml", "m1", "options[b].key")


def test_file_that_is_not_yaml(tmp_path):
    (tmp_path / "mini.fr.yaml").write_text("form: [unclosed", encoding="utf-8")
    forms, problems = bank.check_bank(tmp_path / "mini.fr.yaml")
    assert (
        problems and problems[0].file == "mini.fr.yaml" and "cannot be read" in problems[0].message
    )


def test_file_name_must_match_form_and_language(tmp_path):
    path = tmp_path / "other.fr.yaml"
    path.write_text((MINI_BANK / "mini.fr.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(bank.BankError) as exc:
        bank.load_form(path)
    assert "mini.fr.yaml" in str(exc.value)


def test_version_changes_with_any_text_or_key_but_not_with_layout(tmp_path):
    fr = mini_form_data()
    base = bank.parse_form(copy.deepcopy(fr), "x").version
    reformatted = yaml.safe_load(yaml.safe_dump(fr, default_flow_style=False))
    assert bank.parse_form(reformatted, "x").version == base
    changed_text = copy.deepcopy(fr)
    changed_text["items"][0]["options"][0]["text"] += " Tout de suite."
    assert bank.parse_form(changed_text, "x").version != base
    changed_key = copy.deepcopy(fr)
    changed_key["items"][0]["options"][2]["key"] = 2
    assert bank.parse_form(changed_key, "x").version != base


def test_shuffles_are_reproducible_per_seed_and_differ_between_seeds():
    form = bank.load_bank(REAL_BANK).get("service-orientation", "fr")
    order = [[i.id for i in page] for page in form.pages(1234)]
    assert order == [[i.id for i in page] for page in form.pages(1234)]
    orders = {tuple(i.id for page in form.pages(seed) for i in page) for seed in range(20)}
    assert len(orders) == 20
    assert sorted(i for page in order for i in page) == sorted(i.id for i in form.items)
    item = form.items[0]
    option_orders = {tuple(o.id for o in form.shuffled_options(item, s)) for s in range(30)}
    assert len(option_orders) > 1


def test_item_wording_reads_old_and_new_shapes_and_ignores_layout_and_keys():
    new = bank.parse_form(mini_form_data(), "x").model_dump(mode="json")["items"][0]
    old = copy.deepcopy(new)  # a version-1 item: two scales, a key per scale
    old["scales"] = [old.pop("scale"), "ecoute"]
    for option in old["options"]:
        option["keys"] = {"plaisir": option.pop("key"), "ecoute": 3}
    old["scenario"] = "  " + old["scenario"].replace(" ", "\n ", 1)
    assert bank.item_wording(old) == bank.item_wording(new)
    reworded = copy.deepcopy(new)
    reworded["options"][1]["text"] += " Tout de suite."
    assert bank.item_wording(reworded) != bank.item_wording(new)
    assert set(bank.wordings({"items": [new, {"no": "id"}]})) == {"m1"}


def test_a_stored_version_one_form_reads_on_each_items_first_scale_ties_and_all():
    v1 = mini_form_data()
    for item in v1["items"]:
        scale = item.pop("scale")
        item["scales"] = [scale, "ecoute" if scale == "plaisir" else "plaisir"]
        for option in item["options"]:
            option["keys"] = {scale: option.pop("key"), item["scales"][1]: 2}
    v1["items"][1]["options"][0]["keys"]["ecoute"] = 5  # m2: a and d now tie at the top
    with pytest.raises(bank.BankError):
        bank.parse_form(copy.deepcopy(v1), "v1")  # not a valid file for today's bank
    form = bank.stored_form(v1)
    assert [i.scale for i in form.items] == ["plaisir", "ecoute", "plaisir"]
    assert [o.key for o in form.item("m2").options] == [5, 2, 1, 5]
    assert [o.key for o in form.item("m1").options] == [6, 1, 3, 4]
