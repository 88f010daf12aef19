"""Forms of the candidate's test, built from the bank's item types."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, ValidationError

from recruit.core import scoring
from recruit.core.bank import RATING_MAX, RATING_MIN, Form, Item, Option
from recruit.web.forms import Form as BaseForm


class ConsentForm(BaseForm):
    agree = BooleanField(
        _l("J'ai lu cette information et j'accepte que mes réponses soient traitées ainsi."),
        validators=[DataRequired(message=_l("Cochez la case pour commencer le test."))],
    )


class EraseForm(BaseForm):
    confirm = BooleanField(
        _l("Je confirme vouloir effacer mes données. Je ne pourrai plus utiliser ce lien."),
        validators=[DataRequired(message=_l("Cochez la case pour confirmer l'effacement."))],
    )


class SubmitForm(BaseForm):
    """The final submit: only its CSRF token."""


class PageFormBase(BaseForm):
    # The CSRF token is checked for every POST by CSRFProtect before the view runs; the page
    # template writes the session's token itself, so the form does not sign one more per save.
    class Meta:
        csrf = False

    shown = HiddenField()


@dataclass(frozen=True)
class ItemView:
    """One item on a page: its text, its options in this candidate's order and its fields."""

    number: int
    item: Item
    options: list[Option]
    fields: dict[str, str]


def _field_names(item: Item) -> dict[str, str]:
    if item.format == "most_least":
        return {"best": f"{item.id}-best", "worst": f"{item.id}-worst"}
    if item.format == "rating":
        return {o.id: f"{item.id}-{o.id}" for o in item.options}
    return {"choice": f"{item.id}-choice"}


def _distinct_picks(best_name: str):
    def check(form, field):
        if field.data and field.data == form[best_name].data:
            raise ValidationError(
                _l("Choisissez une réponse différente pour « la moins efficace ».")
            )

    return check


NOT_OFFERED = _l(
    "Cette réponse ne fait pas partie des choix proposés : choisissez-en une dans la liste."
)


def _radio(label, choices, validators, coerce=str) -> RadioField:
    return RadioField(
        label,
        choices=choices,
        validators=validators,
        coerce=coerce,
        invalid_choice_message=NOT_OFFERED,
        invalid_value_message=NOT_OFFERED,
    )


class _PageKey:
    """What a page's form class depends on; compared and hashed on the form's version."""

    def __init__(self, form: Form, items: list[Item], seed: int, first_number: int):
        self.form, self.items, self.seed, self.first_number = form, items, seed, first_number
        self.key = (form.version, tuple(item.id for item in items), seed, first_number)

    def __eq__(self, other) -> bool:
        return isinstance(other, _PageKey) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def page_form_class(form: Form, items: list[Item], seed: int, first_number: int):
    """A form class for one page, and the item views that lay it out.

    Classes are kept for the most recent pages: a candidate's page is built for its GET and
    again for its POST, and a class never changes once built (instances hold the data).
    """
    return _page_form_class(_PageKey(form, items, seed, first_number))


@lru_cache(maxsize=2048)
def _page_form_class(page: _PageKey):
    form, items, seed, first_number = page.form, page.items, page.seed, page.first_number
    required = InputRequired(message=_l("Une réponse est attendue ici."))
    rating_choices = [SelectChoice(str(v), str(v)) for v in range(RATING_MIN, RATING_MAX + 1)]

    class PageForm(PageFormBase):
        pass

    views = []
    for offset, item in enumerate(items):
        options = form.shuffled_options(item, seed)
        choices = [SelectChoice(o.id, o.text) for o in options]
        names = _field_names(item)
        if item.format == "most_least":
            setattr(
                PageForm,
                names["best"],
                _radio(_l("La plus efficace"), choices=choices, validators=[required]),
            )
            setattr(
                PageForm,
                names["worst"],
                _radio(
                    _l("La moins efficace"),
                    choices=choices,
                    validators=[required, _distinct_picks(names["best"])],
                ),
            )
        elif item.format == "rating":
            for option in item.options:
                setattr(
                    PageForm,
                    names[option.id],
                    _radio(option.text, choices=rating_choices, validators=[required], coerce=int),
                )
        else:
            setattr(
                PageForm,
                names["choice"],
                _radio(_l("Votre choix"), choices=choices, validators=[required]),
            )
        views.append(ItemView(first_number + offset, item, options, names))
    return PageForm, tuple(views)


def responses_from(page_form, views: list[ItemView]) -> dict[str, scoring.Response]:
    """The validated page form's answers, typed for scoring."""
    responses: dict[str, scoring.Response] = {}
    for view in views:
        data = {key: page_form[name].data for key, name in view.fields.items()}
        if view.item.format == "most_least":
            responses[view.item.id] = scoring.MostLeast(data["best"], data["worst"])
        elif view.item.format == "rating":
            responses[view.item.id] = scoring.Ratings(data)
        else:
            responses[view.item.id] = scoring.Choice(data["choice"])
    return responses


def form_data_from(answers: dict[str, dict], views: list[ItemView]) -> dict[str, object]:
    """Field values that show the stored answers of a page."""
    data: dict[str, object] = {}
    for view in views:
        payload = answers.get(view.item.id)
        if not payload:
            continue
        if view.item.format == "most_least":
            data[view.fields["best"]] = payload.get("best")
            data[view.fields["worst"]] = payload.get("worst")
        elif view.item.format == "rating":
            for option_id, value in payload.get("ratings", {}).items():
                if option_id in view.fields:
                    data[view.fields[option_id]] = value
        else:
            data[view.fields["choice"]] = payload.get("choice")
    return data
