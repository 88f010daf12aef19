"""The form validators shared by the capabilities' forms (recruit.web.forms)."""

from wtforms import Form, StringField, TextAreaField

from recruit.web.forms import NoControlChars


class NameForm(Form):
    name = StringField(validators=[NoControlChars()])
    note = TextAreaField(validators=[NoControlChars(multiline=True)])


def test_the_wtforms_validator():
    assert NameForm(data={"name": "Ana", "note": "ligne 1\nligne 2"}).validate()
    form = NameForm(data={"name": "Ana\u202e", "note": "ligne\x00"})
    assert not form.validate()
    assert form.name.errors and form.note.errors
    assert NameForm(data={"name": None, "note": None}).validate()
