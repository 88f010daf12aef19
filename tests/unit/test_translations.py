"""Every user-visible string is in the catalogue, translated, and the compiled file is current."""

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "recruit/translations/en/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


def _read(path):
    with open(path, "rb") as fh:
        return read_po(fh)


def _ids(catalog):
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_catalogue_holds_every_string_of_the_code_and_templates(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    extracted = _ids(_read(pot))
    catalogue = _ids(_read(PO))
    assert extracted - catalogue == set(), "run pybabel extract + update"
    assert len(extracted) > 50


def test_every_string_has_an_english_translation_and_the_mo_file_is_current():
    catalog = _read(PO)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        assert "fuzzy" not in message.flags, f"fuzzy: {message.id!r}"
    compiled = read_mo(io.BytesIO(MO.read_bytes()))

    def norm(value):
        return tuple(value) if isinstance(value, list | tuple) else (value,)

    def as_dict(cat):
        return {norm(m.id): norm(m.string) for m in cat if m.id}

    assert as_dict(compiled) == as_dict(catalog), "run pybabel compile -d recruit/translations"


def test_every_form_reads_the_form_library_catalogue_once():
    # Flask-WTF's own base reads WTForms' catalogue from disk on each request;
    # recruit.web.forms.Form keeps it per language. A form deriving from FlaskForm directly
    # would read it again.
    import ast

    package = Path(__file__).resolve().parents[2] / "recruit"
    direct = []
    for path in package.rglob("*.py"):
        if path == package / "web" / "forms.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask_wtf":
                direct += [f"{path.name}: {a.name}" for a in node.names if a.name == "FlaskForm"]
    assert direct == []
