"""The item bank: question files -> frozen, validated forms.

One YAML file per form and language (``questions/<form>.<lang>.yaml``). Files are validated with
pydantic; every problem is reported with the file, the item and the field it concerns. A form's
version is a hash of its validated content, so a stored score always points to the exact text
that was answered.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

Format = Literal["most_least", "rating", "choice"]
# Where the scene takes place: the jobs recruiters hire for (the audit reports the spread).
Setting = Literal[
    "shop",
    "restaurant",
    "hotel",
    "call_centre",
    "reception",
    "delivery",
    "public_counter",
    "office",
]
KEY_MIN, KEY_MAX = 1, 6
RATING_MIN, RATING_MAX = 1, 6

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Scale(_Frozen):
    id: Id
    label: str = Field(min_length=1, max_length=80)
    short: str | None = Field(default=None, max_length=24)  # for table headers
    description: str = Field(min_length=1, max_length=400)
    weight: float = Field(ge=0, le=1)


class Option(_Frozen):
    id: Id
    text: str = Field(min_length=1, max_length=400)
    # How good the option is on the item's scale, from an expert panel: 1 very poor .. 6 excellent.
    key: int = Field(ge=KEY_MIN, le=KEY_MAX)
    rationale: str = Field(min_length=1, max_length=400)


class Item(_Frozen):
    """One scenario, keyed on exactly one scale."""

    id: Id
    format: Format
    scale: Id
    setting: Setting | None = None
    scenario: str = Field(min_length=20, max_length=900)
    question: str | None = Field(default=None, max_length=300)
    options: tuple[Option, ...] = Field(min_length=3, max_length=6)

    @field_validator("id")
    @classmethod
    def _unique_item_id(cls, value: str, info: ValidationInfo) -> str:
        seen = (info.context or {}).setdefault("item_ids", set())
        if value in seen:
            raise ValueError(f"duplicate item id '{value}'")
        seen.add(value)
        return value

    @field_validator("scale")
    @classmethod
    def _known_scale(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("scales")
        if known is not None and value not in known:
            raise ValueError(f"unknown scale '{value}' (the form defines {sorted(known)})")
        return value

    @field_validator("options")
    @classmethod
    def _options_keyed(cls, options: tuple[Option, ...], info: ValidationInfo) -> tuple:
        ids = [o.id for o in options]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise ValueError(f"duplicate option id '{duplicate}'")
        if (info.context or {}).get("stored"):
            return options  # a stored version is the record: read as it was, ties and all
        keys = sorted(o.key for o in options)
        # Graded keys with one best and one worst: a "most" or "least" pick, a choice and a
        # rating profile all have a single right answer at each end.
        if keys[-1] == keys[-2]:
            raise ValueError(f"two options share the highest key ({keys[-1]}): one best is needed")
        if keys[0] == keys[1]:
            raise ValueError(f"two options share the lowest key ({keys[0]}): one worst is needed")
        return options

    def option(self, option_id: str) -> Option:
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    @property
    def keyed_best(self) -> Option:
        return max(self.options, key=lambda o: o.key)

    @property
    def keyed_worst(self) -> Option:
        return min(self.options, key=lambda o: o.key)

    @property
    def key_range(self) -> tuple[int, int]:
        """The lowest and the highest key of the item's options."""
        return self.keyed_worst.key, self.keyed_best.key


class Form(_Frozen):
    form: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    language: Literal["fr", "en"]
    title: str = Field(min_length=1, max_length=120)
    intro: str = Field(min_length=1, max_length=1200)
    minutes: int = Field(ge=1, le=180)
    page_size: int = Field(ge=1, le=20)
    instructions: dict[Format, str]
    scales: tuple[Scale, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)

    @field_validator("scales")
    @classmethod
    def _unique_scales(cls, scales: tuple[Scale, ...]) -> tuple[Scale, ...]:
        ids = [s.id for s in scales]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise ValueError(f"duplicate scale id '{duplicate}'")
        if sum(s.weight for s in scales) <= 0:
            raise ValueError("the scale weights add up to zero")
        return scales

    @model_validator(mode="after")
    def _instructions_for_used_formats(self) -> Form:
        missing = sorted({i.format for i in self.items} - set(self.instructions))
        if missing:
            raise ValueError(f"instructions: no text for format '{missing[0]}'")
        return self

    @cached_property
    def version(self) -> str:
        """Hash of the validated content: changes whenever a text, a key or a weight changes."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def scale_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.scales)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def scale(self, scale_id: str) -> Scale:
        return next(s for s in self.scales if s.id == scale_id)

    @cached_property
    def _items_by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if the form has none."""
        return self._items_by_id[item_id]

    @property
    def page_count(self) -> int:
        return -(-len(self.items) // self.page_size)

    def pages(self, seed: int) -> list[list[Item]]:
        """The items in this invitation's shuffled order, cut into pages."""
        order = list(self.items)
        random.Random(f"items:{seed}").shuffle(order)  # nosec B311 # a reproducible shuffle, not a secret
        size = self.page_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def shuffled_options(self, item: Item, seed: int) -> list[Option]:
        """The item's options in this invitation's shuffled order."""
        options = list(item.options)
        random.Random(f"options:{seed}:{item.id}").shuffle(options)  # nosec B311 # a reproducible shuffle, not a secret
        return options


def item_wording(item: Mapping) -> tuple:
    """What a candidate read of one item (scenario, question, option ids and texts), from an
    item as stored in any version of the bank (``Form.model_dump`` or an older file's content).

    A stored answer is re-keyed only while this is unchanged: an answer to a rewritten item
    answered another question.
    """

    def plain(text: object) -> str:
        return " ".join(str(text or "").split())

    options = item.get("options") or ()
    return (
        plain(item.get("scenario")),
        plain(item.get("question")),
        tuple((o.get("id"), plain(o.get("text"))) for o in options if isinstance(o, Mapping)),
    )


def wordings(content: Mapping) -> dict[str, tuple]:
    """item_wording of every item of a stored form content, by item id."""
    items = content.get("items") or ()
    return {i["id"]: item_wording(i) for i in items if isinstance(i, Mapping) and "id" in i}


def current_shape(item: Mapping) -> dict:
    """A stored item in this bank's shape. A version-1 item, keyed on several scales, is read on
    its first scale (the one it was written for) with its key on that scale."""
    if "scales" not in item:
        return dict(item)
    scale = item["scales"][0]
    options = [
        {**{k: v for k, v in o.items() if k != "keys"}, "key": o["keys"][scale]}
        for o in item["options"]
    ]
    return {**{k: v for k, v in item.items() if k != "scales"}, "scale": scale, "options": options}


def stored_form(content: Mapping, items: Iterable[Mapping] | None = None) -> Form:
    """A form from stored content (a form version of any bank version), optionally with other
    stored items in place of its own; the rules for writing new items (one best, one worst) do
    not apply to what candidates have already answered."""
    raw = {k: v for k, v in content.items() if k != "items"}
    raw["items"] = [
        current_shape(i) for i in ((content.get("items") or []) if items is None else items)
    ]
    known = {s["id"] for s in raw.get("scales") or []}
    return Form.model_validate(raw, context={"scales": known, "item_ids": set(), "stored": True})


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file, item and field."""

    file: str
    item: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"item {self.item}, " if self.item else ""
        return f"{self.file}: {where}{self.field}: {self.message}"


class BankError(Exception):
    """The bank has problems; ``problems`` lists each of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _locate(raw: Any, loc: tuple) -> tuple[str | None, str]:
    """Turn a pydantic location into (item id, readable field path), using ids, not indexes."""
    item_id, parts, node = None, [], raw
    for depth, part in enumerate(loc):
        child = None
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            child = node[part]
            label = child.get("id") if isinstance(child, dict) else None
            if depth == 1 and loc[0] == "items":
                item_id = str(label) if label is not None else f"#{part + 1}"
                parts = []
            else:
                parts[-1] = f"{parts[-1]}[{label if label is not None else part}]"
        elif isinstance(node, dict):
            child = node.get(part)
            parts.append(str(part))
        else:
            parts.append(str(part))
        node = child
    return item_id, ".".join(parts) or "(form)"


def _follows_from_a_nested_error(error: dict, errors: list[dict]) -> bool:
    """pydantic also reports a list as too short when one of its entries failed: say it once."""
    loc = tuple(error["loc"])
    return error["type"] == "too_short" and any(
        tuple(other["loc"])[: len(loc)] == loc and len(other["loc"]) > len(loc) for other in errors
    )


def parse_form(raw: Any, file: str) -> Form:
    """Validate one parsed YAML document; raise BankError naming file, item and field."""
    if not isinstance(raw, dict):
        raise BankError([Problem(file, None, "(form)", "the file must hold a mapping")])
    scales = raw.get("scales")
    known = None
    if isinstance(scales, list):
        known = {s["id"] for s in scales if isinstance(s, dict) and isinstance(s.get("id"), str)}
    try:
        return Form.model_validate(raw, context={"scales": known, "item_ids": set()})
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        for error in errors:
            if _follows_from_a_nested_error(error, errors):
                continue
            item_id, field = _locate(raw, tuple(error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(file, item_id, field, message))
        raise BankError(problems) from None


def load_form(path: Path | str) -> Form:
    """Read and validate one question file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BankError([Problem(path.name, None, "(file)", f"cannot be read: {exc}")]) from None
    form = parse_form(raw, path.name)
    expected = f"{form.form}.{form.language}"
    if path.name.removesuffix(".yaml").removesuffix(".yml") != expected:
        raise BankError(
            [Problem(path.name, None, "form", f"the file should be named {expected}.yaml")]
        )
    return form


def compare_siblings(forms: Mapping[str, Form]) -> list[Problem]:
    """Check that the language versions of one form hold the same items, options and keys.

    ``forms`` maps a file name to its form; all forms share one form id.
    """
    problems: list[Problem] = []
    if len(forms) < 2:
        return problems
    (ref_file, ref), *others = sorted(forms.items(), key=lambda kv: kv[1].language != "fr")
    for file, form in others:
        if form.scale_ids != ref.scale_ids:
            problems.append(Problem(file, None, "scales", f"scale ids differ from {ref_file}"))
        for scale in ref.scales:
            if scale.id in form.scale_ids and form.scale(scale.id).weight != scale.weight:
                problems.append(
                    Problem(file, None, f"scales[{scale.id}].weight", f"differs from {ref_file}")
                )
        ref_ids = [i.id for i in ref.items]
        ids = [i.id for i in form.items]
        for missing in (i for i in ref_ids if i not in ids):
            problems.append(Problem(file, missing, "id", f"item is in {ref_file} but not here"))
        for extra in (i for i in ids if i not in ref_ids):
            problems.append(Problem(file, extra, "id", f"item is not in {ref_file}"))
        for item in form.items:
            if item.id not in ref_ids:
                continue
            twin = ref.item(item.id)
            for attr in ("format", "scale"):
                if getattr(item, attr) != getattr(twin, attr):
                    problems.append(Problem(file, item.id, attr, f"differs from {ref_file}"))
            if item.option_ids != twin.option_ids:
                problems.append(
                    Problem(file, item.id, "options", f"option ids differ from {ref_file}")
                )
                continue
            for option in item.options:
                if option.key != twin.option(option.id).key:
                    problems.append(
                        Problem(
                            file, item.id, f"options[{option.id}].key", f"differs from {ref_file}"
                        )
                    )
    return problems


def _question_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    return [path]


def check_bank(path: Path | str) -> tuple[dict[tuple[str, str], Form], list[Problem]]:
    """Validate every question file under ``path`` (a folder or one file) and their siblings."""
    path = Path(path)
    if not path.exists():
        return {}, [Problem(str(path), None, "(file)", "does not exist")]
    files = _question_files(path)
    if path.is_file():
        # A single file is still compared with its language siblings in the same folder.
        stem = path.name.split(".")[0]
        files = [path] + [
            p for p in _question_files(path.parent) if p.name.split(".")[0] == stem and p != path
        ]
    forms: dict[tuple[str, str], Form] = {}
    by_file: dict[str, Form] = {}
    problems: list[Problem] = []
    for file in files:
        try:
            form = load_form(file)
        except BankError as exc:
            problems.extend(exc.problems)
            continue
        if (form.form, form.language) in forms:
            problems.append(
                Problem(file.name, None, "form", "another file defines this form and language")
            )
            continue
        forms[(form.form, form.language)] = form
        by_file[file.name] = form
    for form_id in sorted({f.form for f in by_file.values()}):
        problems.extend(compare_siblings({n: f for n, f in by_file.items() if f.form == form_id}))
    if not forms and not problems:
        problems.append(Problem(str(path), None, "(file)", "no question file found"))
    return forms, problems


class Bank:
    """All validated forms, looked up by form id and language."""

    def __init__(self, forms: Mapping[tuple[str, str], Form]):
        self._forms = dict(forms)

    def get(self, form_id: str, language: str) -> Form:
        return self._forms[(form_id, language)]

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._forms

    def form_ids(self) -> list[str]:
        return sorted({f for f, _ in self._forms})

    def languages(self, form_id: str) -> list[str]:
        return sorted(lang for f, lang in self._forms if f == form_id)

    def __iter__(self) -> Iterable[Form]:
        return iter(self._forms.values())


def load_bank(path: Path | str) -> Bank:
    """Load every form under ``path``; raise BankError if any file has a problem."""
    forms, problems = check_bank(path)
    if problems:
        raise BankError(problems)
    return Bank(forms)
