"""The `recruit` commands that operators and scripts rely on."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from recruit import config
from recruit.cli import bank_group
from recruit.data.models import Campaign, Candidate, Invitation, Organisation, utcnow
from recruit.extensions import db
from tests.conftest import (
    MINI_BANK,
    REAL_BANK,
    empty_database,
    make_app,
    mini_form_data,
    write_form,
)
from tests.helpers import count


def counts(app):
    return {m.__name__: count(app, m) for m in (Organisation, Campaign, Candidate, Invitation)}


def test_org_create_and_duplicate(app, runner):
    assert runner.invoke(args=["org", "create", "Hôtel du Parc"]).exit_code == 0
    again = runner.invoke(args=["org", "create", "Hôtel du Parc"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert counts(app)["Organisation"] == 1


def test_invite_prints_a_working_link_as_last_line(app, runner, client):
    runner.invoke(args=["org", "create", "Acme"])
    result = runner.invoke(
        args=[
            "invite",
            "--org",
            "Acme",
            "--form",
            "mini",
            "--lang",
            "en",
            "--name",
            "Ana Lima",
            "--email",
            "ana@example.org",
            "--expires-in-days",
            "3",
        ]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://localhost/t/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits in URL-safe base64
    page = client.get(f"/t/{token}")
    assert page.status_code == 200 and "Ana Lima" in page.text
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert token not in (invitation.token_hash,)
        assert abs(invitation.expires_at - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
        assert invitation.campaign.language == "en"
    # A second invitation reuses the organisation's default campaign for that form and language.
    runner.invoke(
        args=[
            "invite",
            "--org",
            "Acme",
            "--form",
            "mini",
            "--lang",
            "en",
            "--name",
            "B",
            "--email",
            "b@example.org",
        ]
    )
    assert counts(app)["Campaign"] == 1 and counts(app)["Invitation"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "Nope", "--form", "mini", "--lang", "fr"], "no organisation"),
        (["--org", "Acme", "--form", "other", "--lang", "fr"], "no form"),
        (["--org", "Acme", "--form", "mini", "--lang", "de"], "Invalid value"),
    ],
)
def test_invite_refuses_bad_input_and_creates_nothing(app, runner, args, message):
    runner.invoke(args=["org", "create", "Acme"])
    before = counts(app)
    result = runner.invoke(args=["invite", *args, "--name", "X", "--email", "x@example.org"])
    assert result.exit_code != 0 and message in result.output
    assert counts(app) == before


def test_invite_refuses_a_bad_email_and_creates_nothing(app, runner):
    runner.invoke(args=["org", "create", "Acme"])
    before = counts(app)
    result = runner.invoke(
        args=[
            "invite",
            "--org",
            "Acme",
            "--form",
            "mini",
            "--lang",
            "fr",
            "--name",
            "X",
            "--email",
            "not-an-email",
        ]
    )
    assert result.exit_code != 0 and "email" in result.output.lower()
    assert counts(app) == before


def test_demo_is_idempotent_and_prints_the_same_links(database_url):
    app = make_app(database_url, bank=REAL_BANK)
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["demo"])
        assert first.exit_code == 0, first.output
        links = [line.split()[-1] for line in first.output.splitlines() if "/t/" in line]
        assert len(links) >= 4
        before = counts(app)
        second = runner.invoke(args=["demo"])
        assert [line.split()[-1] for line in second.output.splitlines() if "/t/" in line] == links
        assert counts(app) == before
        client = app.test_client()
        for link in links:
            assert client.get(link.replace("http://localhost", "")).status_code == 200
    finally:
        empty_database(app)


def test_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = config.from_environment(str(tmp_path))
    second = config.from_environment(str(tmp_path))
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'recruit.sqlite3'}"
    assert first["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("RECRUIT_BASE_URL", "https://jobs.example.org/")
    env = config.from_environment(str(tmp_path))
    assert env["SECRET_KEY"] == "from-env"
    assert env["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"
    assert env["RECRUIT_BASE_URL"] == "https://jobs.example.org"
    assert env["SESSION_COOKIE_SECURE"] is True


def test_bank_check_command_reports_and_exits_non_zero(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(bank_group, ["check", str(MINI_BANK)])
    assert ok.exit_code == 0
    assert "mini.fr" in ok.output and "mini.en" in ok.output
    fr = mini_form_data()
    fr["items"][1]["scale"] = "inconnue"
    write_form(tmp_path, fr)
    write_form(tmp_path, mini_form_data("en"))
    bad = runner.invoke(bank_group, ["check", str(tmp_path)])
    assert bad.exit_code == 1
    assert "mini.fr.yaml: item m2, scale:" in bad.output
    assert "inconnue" in bad.output


def test_bank_audit_command_passes_the_real_bank_and_fails_a_spoiled_copy(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(bank_group, ["audit", "--no-learner"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("PASS") == 2 and "random responding (2000 respondents)" in ok.output
    for lang in ("fr", "en"):
        text = (config.QUESTIONS_DIR / f"service-orientation.{lang}.yaml").read_text("utf-8")
        if lang == "fr":  # an ordinary space before a question mark, as in version 1
            text = text.replace("\u202f?", " ?", 1)
        (tmp_path / f"service-orientation.{lang}.yaml").write_text(text, encoding="utf-8")
    bad = runner.invoke(bank_group, ["audit", "--no-learner", str(tmp_path)])
    assert bad.exit_code == 1
    assert "FAIL: 1 ordinary space(s) before : ; ? ! » or after «" in bad.output
    assert "1 form(s) past the audit's limits." in bad.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "service-orientation.fr.yaml").write_text("form: [", encoding="utf-8")
    refused = runner.invoke(bank_group, ["audit", str(broken)])
    assert refused.exit_code != 0 and "recruit bank check" in refused.output
