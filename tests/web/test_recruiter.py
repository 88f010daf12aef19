"""The recruiter's workspace through the test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openpyxl
import pytest
import sqlalchemy as sa

from recruit.auth import services as accounts
from recruit.core import norms
from recruit.data import frames, questions
from recruit.data.models import (
    AuditEvent,
    Campaign,
    Candidate,
    Decision,
    ImportBatch,
    Invitation,
    OutboxMessage,
    Result,
    ScaleScore,
    utcnow,
)
from recruit.extensions import db
from recruit.services import invitations
from tests.conftest import complete_invitation, csrf_from, make_invitation, random_responses
from tests.helpers import (
    PASSWORD,
    both_past_the_check,
    campaign_id,
    confirm,
    count,
    login,
    make_user,
    new_campaign,
    stored_rows,
    token_of,
    upload,
)
from tests.workbooks import HEADER_ROW, declare_size, raw_xlsx, sheet_xml, strings_xml


@pytest.fixture
def recruiter(app, client):
    login(client, make_user(app))
    return client


# --- Accounts -------------------------------------------------------------------------------


def test_login_says_the_same_for_a_wrong_password_and_an_unknown_account(app, client):
    make_user(app)
    wrong = login(client, "recruiter@acme.example.org", "nope nope nope")
    unknown = login(client, "nobody@acme.example.org", "nope nope nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in wrong.text
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)
    assert client.get("/campaigns").status_code == 302


def test_passwords_are_stored_with_a_memory_hard_hash(app):
    make_user(app)
    with app.app_context():
        user = accounts.find_user("recruiter@acme.example.org")
        assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_user_create_command(app, runner):
    runner.invoke(args=["org", "create", "Acme"])
    result = runner.invoke(
        args=["user", "create", "--org", "Acme", "--email", "Ana@Example.org", "--role", "hr"]
    )
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].removeprefix("Password: ")
    client = app.test_client()
    assert login(client, "ana@example.org", password).status_code == 302
    again = runner.invoke(
        args=["user", "create", "--org", "Acme", "--email", "ana@example.org", "--role", "hr"]
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_admin_creates_and_deactivates_accounts(app, client):
    login(client, make_user(app, "admin"))
    page = client.get("/admin/users")
    bad = client.post(
        "/admin/users",
        data={"csrf_token": csrf_from(page.text), "email": "x", "role": "hr", "password": "short"},
    )
    assert bad.status_code == 400 and count(app, accounts.User) == 1
    ok = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Hélène",
            "email": "helene@acme.example.org",
            "role": "hr",
            "password": "a long enough one",
        },
    )
    assert ok.status_code == 303
    with app.app_context():
        user = accounts.find_user("helene@acme.example.org")
        assert user.role == "hr"
    toggle = client.post(
        f"/admin/users/{user.id}/active", data={"csrf_token": csrf_from(page.text)}
    )
    assert toggle.status_code == 303
    assert (
        login(app.test_client(), "helene@acme.example.org", "a long enough one").status_code == 401
    )


# --- Campaigns ------------------------------------------------------------------------------


def test_open_a_campaign_and_see_it_listed_with_counts(app, recruiter):
    response = new_campaign(recruiter)
    assert response.status_code == 303
    cid = campaign_id(app)
    make_invitation(app, campaign="Réceptionniste", email="a@example.org")
    token = make_invitation(app, campaign="Réceptionniste", email="b@example.org")
    complete_invitation(
        app,
        token,
        random_responses(questions.bank(app).get("mini", "fr"), random.Random(1)),
    )
    listing = recruiter.get("/campaigns")
    assert "Réceptionniste" in listing.text and "50 %" in listing.text
    page = recruiter.get(f"/campaigns/{cid}")
    assert page.status_code == 200 and "Lyon" in page.text


@pytest.mark.parametrize(
    ("title", "days", "form"),
    [
        ("", "14", "mini:fr"),
        ("Poste", "0", "mini:fr"),
        ("Poste", "400", "mini:fr"),
        ("Poste", "14", "other:fr"),
    ],
)
def test_campaign_with_bad_input_is_refused_and_not_created(app, recruiter, title, days, form):
    response = new_campaign(recruiter, title=title, days=days, form=form)
    assert response.status_code == 400
    assert count(app, Campaign) == 0


@pytest.mark.parametrize(
    ("language", "message"),
    [("fr", "N&#39;est pas un entier valide."), ("en", "Not a valid integer value.")],
)
def test_form_library_messages_follow_each_request_language(app, recruiter, language, message):
    # WTForms' own messages (here: a number that is not one) are in the language of the
    # request, also when the other language was asked just before in the same process.
    other = {"fr": "en", "en": "fr"}[language]
    for asked in (other, language):
        headers = {"Accept-Language": asked}
        page = recruiter.get("/campaigns/new", headers=headers)
        response = recruiter.post(
            "/campaigns/new",
            headers=headers,
            data={
                "csrf_token": csrf_from(page.text),
                "title": "Poste",
                "site": "Lyon",
                "form_language": "mini:fr",
                "invitation_days": "quatorze",
            },
        )
        assert response.status_code == 400
    assert message in response.text
    assert count(app, Campaign) == 0


# Bidirectional controls, NUL and other control characters: each one in a name or a title.
INVISIBLE = [
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c",
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n",
]  # fmt: skip
CONTROL_MESSAGE = "Ce champ contient des caractères de contrôle invisibles"


@pytest.mark.parametrize("field", ["title", "site"])
def test_a_campaign_title_or_site_with_invisible_controls_is_refused(app, recruiter, field):
    for char in INVISIBLE:
        values = {"title": "Réceptionniste", "site": "Lyon", field: f"Accueil{char}nuit"}
        response = new_campaign(recruiter, **values)
        assert response.status_code == 400, repr(char)
        assert CONTROL_MESSAGE in response.text
        assert 'aria-invalid="true"' in response.text  # next to the field
    assert count(app, Campaign) == 0
    assert (
        new_campaign(recruiter, title="Accueil de nuit", site="Lyon — Part-Dieu").status_code == 303
    )


def test_a_candidate_name_with_invisible_controls_is_refused(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    page = recruiter.get(f"/campaigns/{cid}")
    before = stored_rows(app)
    for char in INVISIBLE:
        for field, value in (("name", f"Ana{char}lia"), ("external_id", f"ATS{char}1")):
            data = {"name": "Ana", "email": "ana@example.org", field: value}
            response = recruiter.post(
                f"/campaigns/{cid}/invitations", data={"csrf_token": csrf_from(page.text), **data}
            )
            assert response.status_code == 400, (field, repr(char))
            assert CONTROL_MESSAGE in response.text
    assert stored_rows(app) == before
    assert count(app, Invitation) == count(app, Candidate) == count(app, OutboxMessage) == 0


def test_closing_a_campaign_revokes_unused_links_only(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    unused = make_invitation(app, campaign="Réceptionniste", email="u@example.org")
    started = make_invitation(app, campaign="Réceptionniste", email="s@example.org")
    recruiter.get(f"/t/{started}")
    page = recruiter.get(f"/t/{started}")
    recruiter.post(f"/t/{started}/consent", data={"csrf_token": csrf_from(page.text), "agree": "y"})
    page = recruiter.get(f"/campaigns/{cid}")
    response = recruiter.post(f"/campaigns/{cid}/close", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    assert recruiter.get(f"/t/{unused}").status_code == 410
    assert recruiter.get(f"/t/{started}", follow_redirects=True).status_code == 200
    invite = recruiter.post(
        f"/campaigns/{cid}/invitations",
        data={"csrf_token": csrf_from(page.text), "name": "Late", "email": "late@example.org"},
    )
    assert invite.status_code == 303
    assert count(app, Candidate, Candidate.email == "late@example.org") == 0


# --- Invitations ----------------------------------------------------------------------------


def test_invite_one_creates_the_invitation_and_its_email_together(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    page = recruiter.get(f"/campaigns/{cid}")
    response = recruiter.post(
        f"/campaigns/{cid}/invitations",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Zoé Roux",
            "email": "zoe@example.org",
            "external_id": "ATS-9",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.invitation_id == invitation.id and message.kind == "invitation"
        assert invitation.candidate.external_id == "ATS-9"
    page = recruiter.get(f"/campaigns/{cid}")
    link = f"http://localhost/t/{token_of(app, invitation.id)}"
    assert link in page.text  # the link to copy
    assert recruiter.get(link.removeprefix("http://localhost")).status_code == 200


@pytest.mark.parametrize(
    ("name", "email", "message"),
    [
        ("", "x@example.org", "Indiquez un nom"),
        ("X", "not-an-email", "pas valable"),
        ("X", "", "Indiquez une adresse"),
    ],
)
def test_invite_one_with_bad_input_creates_nothing(app, recruiter, name, email, message):
    new_campaign(recruiter)
    cid = campaign_id(app)
    page = recruiter.get(f"/campaigns/{cid}")
    response = recruiter.post(
        f"/campaigns/{cid}/invitations",
        data={"csrf_token": csrf_from(page.text), "name": name, "email": email},
    )
    assert response.status_code == 400 and message in response.text
    assert count(app, Invitation) == count(app, OutboxMessage) == count(app, Candidate) == 0


def test_a_second_live_link_for_the_same_person_is_refused(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    page = recruiter.get(f"/campaigns/{cid}")
    data = {"csrf_token": csrf_from(page.text), "name": "Zoé", "email": "zoe@example.org"}
    recruiter.post(f"/campaigns/{cid}/invitations", data=data)
    again = recruiter.post(
        f"/campaigns/{cid}/invitations", data={**data, "email": "ZOE@example.org"}
    )
    assert again.status_code == 400 and "déjà un lien actif" in again.text
    assert count(app, Invitation) == 1 and count(app, OutboxMessage) == 1


def test_revoke_extend_and_resend(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    token = make_invitation(app, campaign="Réceptionniste", email="a@example.org")
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        before = invitation.expires_at
    page = recruiter.get(f"/campaigns/{cid}")
    csrf = csrf_from(page.text)
    recruiter.post(f"/invitations/{invitation.id}/extend", data={"csrf_token": csrf, "days": "7"})
    with app.app_context():
        after = db.session.get(Invitation, invitation.id).expires_at
    assert 6.9 < (after - before).total_seconds() / 86400 < 7.1
    bad = recruiter.post(
        f"/invitations/{invitation.id}/extend", data={"csrf_token": csrf, "days": "500"}
    )
    assert bad.status_code == 400
    recruiter.post(f"/invitations/{invitation.id}/send", data={"csrf_token": csrf})
    assert count(app, OutboxMessage, OutboxMessage.kind == "invitation") == 1
    recruiter.post(f"/invitations/{invitation.id}/revoke", data={"csrf_token": csrf})
    assert recruiter.get(f"/t/{token}").status_code == 410
    with app.app_context():
        assert db.session.scalar(
            sa.select(AuditEvent.action).where(AuditEvent.action == "invitation_revoked")
        )


def test_send_invitations_and_remind_queue_the_right_people(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    for i in range(3):
        make_invitation(app, campaign="Réceptionniste", email=f"p{i}@example.org")
    done = make_invitation(app, campaign="Réceptionniste", email="done@example.org")
    complete_invitation(
        app,
        done,
        random_responses(questions.bank(app).get("mini", "fr"), random.Random(2)),
    )
    page = recruiter.get(f"/campaigns/{cid}")
    assert "Envoyer 3 invitation(s)" in page.text
    recruiter.post(f"/campaigns/{cid}/send", data={"csrf_token": csrf_from(page.text)})
    assert count(app, OutboxMessage, OutboxMessage.kind == "invitation") == 3
    recruiter.post(f"/campaigns/{cid}/send", data={"csrf_token": csrf_from(page.text)})
    assert count(app, OutboxMessage, OutboxMessage.kind == "invitation") == 3
    recruiter.post(f"/campaigns/{cid}/remind", data={"csrf_token": csrf_from(page.text)})
    assert count(app, OutboxMessage, OutboxMessage.kind == "reminder") == 3


def test_two_recruiters_inviting_one_person_at_once_make_one_link(app, recruiter, monkeypatch):
    new_campaign(recruiter)
    cid = campaign_id(app)
    waits = both_past_the_check(monkeypatch)

    def invite() -> str:
        with app.app_context():
            campaign = db.session.get(Campaign, cid)
            try:
                invitations.invite_one(campaign, "Ana Lopes", "ana@example.org")
            except invitations.InvitationError as exc:
                db.session.rollback()
                return str(exc)
            db.session.commit()
            return "invited"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: invite(), range(2)))

    assert outcomes == ["already_invited", "invited"]
    assert "met" not in waits  # they never were both past the check
    assert count(app, Invitation) == 1


def test_one_person_invited_into_two_campaigns_at_once_is_one_candidate(
    app, recruiter, monkeypatch
):
    # One candidate per person and organisation: erasing them must find every link.
    new_campaign(recruiter, title="Réceptionniste")
    new_campaign(recruiter, title="Serveur")
    campaigns = [campaign_id(app, "Réceptionniste"), campaign_id(app, "Serveur")]
    waits = both_past_the_check(monkeypatch)

    def invite(pair) -> None:
        cid, email = pair
        with app.app_context():
            invitations.invite_one(db.session.get(Campaign, cid), "Ana Lopes", email)
            db.session.commit()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(invite, zip(campaigns, ["ana@example.org", "Ana@Example.org"], strict=True)))

    assert "met" not in waits
    assert count(app, Candidate) == 1
    assert count(app, Invitation) == 2


def test_a_file_confirmed_twice_at_once_is_imported_once(app, recruiter, monkeypatch):
    new_campaign(recruiter)
    cid = campaign_id(app)
    content = "name,email\nHélène Dubois,helene@example.org\nLéo Roux,leo@example.org\n"
    preview = upload(recruiter, cid, content.encode(), "c.csv")
    waits = both_past_the_check(monkeypatch)

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(lambda _: confirm(recruiter, preview).status_code, range(2)))

    assert statuses == [303, 303]
    assert "met" not in waits
    assert count(app, Invitation) == 2
    assert count(app, Candidate) == 2


# --- Bulk import ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "encoding", "filename"),
    [
        (
            "name,email,id\nHélène Dubois,helene@example.org,A1\nLéo Roux,leo@example.org,A2\n",
            "utf-8",
            "c.csv",
        ),
        (
            "nom;prénom;courriel\nDubois;Hélène;helene@example.org\nRoux;Léo;leo@example.org\n",
            "utf-8-sig",
            "c.csv",
        ),
        (
            "Nom complet;E-mail\nHélène Dubois;helene@example.org\nLéo Roux;leo@example.org\n",
            "cp1252",
            "c.csv",
        ),
    ],
)
def test_import_in_each_encoding_previews_then_creates(app, recruiter, content, encoding, filename):
    new_campaign(recruiter)
    cid = campaign_id(app)
    preview = upload(recruiter, cid, content.encode(encoding), filename)
    assert preview.status_code == 200 and "Hélène Dubois" in preview.text
    assert count(app, Invitation) == 0  # nothing before the confirmation
    assert confirm(recruiter, preview).status_code == 303
    with app.app_context():
        names = set(db.session.scalars(sa.select(Candidate.name)))
    assert names == {"Hélène Dubois", "Léo Roux"}
    assert count(app, Invitation) == 2
    again = confirm(recruiter, preview)
    assert again.status_code == 303 and count(app, Invitation) == 2


def test_import_xlsx(app, recruiter):
    new_campaign(recruiter)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Prénom", "Nom", "Adresse e-mail", "Référence"])
    sheet.append(["Anaïs", "Petit", "anais@example.org", 1042])
    buffer = io.BytesIO()
    book.save(buffer)
    preview = upload(recruiter, campaign_id(app), buffer.getvalue(), "liste.xlsx")
    assert preview.status_code == 200
    confirm(recruiter, preview)
    with app.app_context():
        candidate = db.session.scalar(sa.select(Candidate))
    assert (candidate.name, candidate.external_id) == ("Anaïs Petit", "1042")


def test_import_with_bad_rows_lists_each_by_line_and_creates_nothing(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    make_invitation(app, campaign="Réceptionniste", email="taken@example.org")
    content = (
        b"name,email\n"
        b"Ok Person,ok@example.org\n"  # line 2
        b"No Mail,\n"  # line 3
        b"Bad Mail,not-an-email\n"  # line 4
        b"Twice,ok@example.org\n"  # line 5
        b"Taken,taken@example.org\n"  # line 6
    )
    response = upload(recruiter, cid, content)
    assert response.status_code == 400
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", response.text)
    assert problems == [
        ("3", "Adresse e-mail manquante"),
        ("4", "Adresse e-mail non valable"),
        ("5", "Adresse déjà présente plus haut dans le fichier"),
        ("6", "Déjà invité dans cette campagne"),
    ]
    assert "Confirmer" not in response.text
    assert count(app, Invitation) == 1 and count(app, Candidate) == 1


def test_unreadable_file_is_refused(app, recruiter):
    new_campaign(recruiter)
    response = upload(recruiter, campaign_id(app), b"\x00\x01PK garbage", "c.xlsx")
    assert response.status_code == 400 and "ne peut pas être lu" in response.text
    wrong_type = upload(recruiter, campaign_id(app), b"name,email\n", "c.pdf")
    assert wrong_type.status_code == 400 and "CSV ou XLSX" in wrong_type.text


def problem_rows(response) -> list[tuple[str, str, str]]:
    """(line, problem, value) of each row of the problems table."""
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]+)</td><td>([^<]*)</td></tr>", response.text)


def nothing_saved(app) -> bool:
    return count(app, ImportBatch) == 0 and count(app, Invitation) == 0


def test_import_preview_says_which_encoding_was_read(app, recruiter):
    new_campaign(recruiter)
    cid = campaign_id(app)
    utf8 = upload(recruiter, cid, "nom,email\nJosé Martin,jose@example.org\n".encode())
    assert utf8.status_code == 200
    assert "Fichier : candidats.csv · lu en UTF-8" in utf8.text
    assert "Windows-1252" not in utf8.text
    cp1252 = upload(recruiter, cid, b"nom;email\nJos\xe9 Martin;jose@example.org\n")
    assert cp1252.status_code == 200
    assert "<td>José Martin</td>" in cp1252.text and "JosÃ©" not in cp1252.text
    assert "Fichier lu en Windows-1252 (il n'est pas en UTF-8) : vérifiez les accents." in (
        cp1252.text.replace("&#39;", "'")
    )


def test_a_file_mixing_utf8_and_latin1_is_refused_at_its_line(app, recruiter):
    new_campaign(recruiter)
    content = (
        b"nom,email\n"
        b"Jos\xc3\xa9 Martin,jose@example.org\n"
        b"Andr\xe9 Roux,andre@example.org\n"  # line 3: one Latin-1 byte in a UTF-8 file
    )
    response = upload(recruiter, campaign_id(app), content)
    assert response.status_code == 400
    [(line, label, value)] = problem_rows(response)
    assert (line, value) == ("3", "Andr\ufffd Roux,andre@example.org")
    assert label.startswith("Octet non valable en UTF-8") and "enregistrez" in label.lower()
    assert "JosÃ©" not in response.text and "Confirmer" not in response.text
    assert nothing_saved(app)


def test_control_characters_are_taken_out_of_the_file_name(app, recruiter):
    new_campaign(recruiter)
    content = b"nom,email\nZoe Petit,zoe@example.org\n"
    preview = upload(recruiter, campaign_id(app), content, "cand\x00idats\u202e.csv")
    assert preview.status_code == 200
    assert "Fichier : candidats.csv" in preview.text
    assert "\u202e" not in preview.text and "\x00" not in preview.text
    assert "Le nom du fichier contenait des caractères de contrôle" in preview.text
    with app.app_context():
        assert db.session.scalars(sa.select(ImportBatch.filename)).all() == ["candidats.csv"]
    plain = upload(recruiter, campaign_id(app), content, "candidats.csv")
    assert "caractères de contrôle" not in plain.text


def test_names_with_control_characters_are_refused_by_line(app, recruiter):
    new_campaign(recruiter)
    content = (
        "nom,email\n"
        "Zoe Petit,zoe@example.org\n"
        "Eve\u202e nitraM,eve@example.org\n"  # line 3: right-to-left override
        "Bob\x00 Stone,bob@example.org\n"  # line 4: NUL
    ).encode()
    response = upload(recruiter, campaign_id(app), content)
    assert response.status_code == 400
    label = "Caractères de contrôle interdits (invisibles, ou qui inversent le sens du texte)"
    assert problem_rows(response) == [
        ("3", label, "Eve\ufffd nitraM"),
        ("4", label, "Bob\ufffd Stone"),
    ]
    assert "\u202e" not in response.text and "\x00" not in response.text
    assert nothing_saved(app)


def _bomb(kind: str) -> bytes:
    if kind == "declared":  # the directory announces 51 MB of shared strings
        return declare_size(raw_xlsx(sheet_xml(HEADER_ROW)), "xl/sharedStrings.xml", 51 * 2**20)
    if kind == "ratio":  # 2 MB of blanks in the sheet: about 1,000 to 1
        return raw_xlsx(sheet_xml(HEADER_ROW, " " * 2**21))
    # "lying": the shared strings hold far more than their directory entry says
    names = [f"Personne {n:05d} {n * 7919 % 10007}" for n in range(5000)]
    data = raw_xlsx(sheet_xml(HEADER_ROW), strings_xml("Nom", "Email", *names))
    return declare_size(data, "xl/sharedStrings.xml", 1000)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("declared", "Le fichier décompressé dépasse 50 Mo"),
        ("ratio", "Compression anormale (plus de 100 pour 1, ou taille annoncée fausse)"),
        ("lying", "Compression anormale (plus de 100 pour 1, ou taille annoncée fausse)"),
    ],
)
def test_an_xlsx_bomb_is_refused_with_its_bound_and_nothing_saved(app, recruiter, kind, message):
    new_campaign(recruiter)
    response = upload(recruiter, campaign_id(app), _bomb(kind), "candidats.xlsx")
    assert response.status_code == 400
    [(line, label, value)] = problem_rows(response)
    assert line == "—" and label.replace("&#39;", "'").startswith(message)
    assert value.startswith("xl/")
    assert "Confirmer" not in response.text
    assert nothing_saved(app)


def test_five_thousand_rows_import_in_one_transaction(app, recruiter):
    new_campaign(recruiter)
    lines = ["nom,email,id"] + [f"Personne {i},p{i}@example.org,X{i}" for i in range(5000)]
    preview = upload(recruiter, campaign_id(app), "\n".join(lines).encode())
    assert preview.status_code == 200 and "5000 invitation(s)" in preview.text
    assert confirm(recruiter, preview).status_code == 303
    assert count(app, Invitation) == 5000 and count(app, Candidate) == 5000


# --- Shortlist, decisions, comparison -------------------------------------------------------


def completed_pool(app, n, campaign="Réceptionniste", seed=5):
    form = questions.bank(app).get("mini", "fr")
    rng = random.Random(seed)
    for i in range(n):
        token = make_invitation(
            app,
            campaign=campaign,
            email=f"{campaign}-{i}@example.org",
            name=f"Personne {campaign} {i:03d}",
        )
        complete_invitation(app, token, random_responses(form, rng))


def test_shortlist_order_matches_normalize_on_the_same_data(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 12)
    cid = campaign_id(app)
    page = recruiter.get(f"/campaigns/{cid}/shortlist")
    assert page.status_code == 200
    shown = re.findall(r'/candidates/(\d+)">', page.text)
    with app.app_context():
        frame = frames.scores(invitations.find_organisation("Acme").id, [cid])
    expected = frame.join(norms.normalize(frame, pool="campaign_id", scales=["composite"]))
    expected = expected.sort_values(["composite_t", "invitation_id"], ascending=[False, True])
    assert [int(i) for i in shown] == [int(i) for i in expected["invitation_id"]]
    t_shown = [float(t) for t in re.findall(r'class="num strong">([\d.]+)', page.text)]
    np.testing.assert_allclose(t_shown, expected["composite_t"].round(0), atol=0.51)
    assert "provisoire" in page.text  # 12 people < 30


def test_shortlist_sorts_filters_and_pages(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 12)
    cid = campaign_id(app)
    by_name = recruiter.get(f"/campaigns/{cid}/shortlist?sort=name&dir=asc")
    names = re.findall(r'/candidates/\d+">([^<]+)</a>', by_name.text)
    assert names == sorted(names)
    filtered = recruiter.get(f"/campaigns/{cid}/shortlist?min_composite=50")
    t_values = [float(t) for t in re.findall(r'class="num strong">([\d.]+)', filtered.text)]
    assert t_values and all(t >= 49.5 for t in t_values) and len(t_values) < 12
    assert recruiter.get(f"/campaigns/{cid}/shortlist?min_composite=abc").status_code == 400
    assert recruiter.get(f"/campaigns/{cid}/shortlist?norm=galaxy").status_code == 400


BAD_MINIMUMS = ["inf", "-inf", "-1e309", "1e309", "nan", "NaN", "1e2", "abc", "-1", "100.5", "0x10"]


def test_a_minimum_that_is_not_a_t_score_is_a_400_naming_it(app, recruiter):
    new_campaign(recruiter)
    new_campaign(recruiter, title="Nice")
    completed_pool(app, 3)
    completed_pool(app, 2, campaign="Nice", seed=8)
    cid, other = campaign_id(app), campaign_id(app, "Nice")
    before = stored_rows(app)
    for name in ("min_composite", "min_plaisir"):
        for value in BAD_MINIMUMS:
            for url in (
                f"/campaigns/{cid}/shortlist?{name}={value}",
                f"/campaigns/{cid}/shortlist?norm=pooled&{name}={value}",
                f"/shortlist?campaign={cid}&campaign={other}&norm=pooled&{name}={value}",
            ):
                response = recruiter.get(url)
                assert response.status_code == 400, url
                assert f"« {name} »" in response.text, url
                assert "un nombre de 0 à 100" in response.text
    assert stored_rows(app) == before


def test_minimums_within_range_filter_as_typed(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 12)
    cid = campaign_id(app)
    everyone = recruiter.get(f"/campaigns/{cid}/shortlist?min_composite=0&min_plaisir=")
    assert len(re.findall(r'/candidates/\d+">', everyone.text)) == 12
    nobody = recruiter.get(f"/campaigns/{cid}/shortlist?min_composite=100")
    assert nobody.status_code == 200 and not re.findall(r'/candidates/\d+">', nobody.text)
    decimal = recruiter.get(f"/campaigns/{cid}/shortlist?min_composite=49,5")
    t_values = [float(t) for t in re.findall(r'class="num strong">([\d.]+)', decimal.text)]
    assert t_values and all(t >= 49 for t in t_values)
    assert 'name="min_composite" min="0" max="100" step="1" value="49.5"' in decimal.text


def test_a_page_number_that_does_not_parse_is_a_400_naming_it(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 2)
    cid = campaign_id(app)
    before = stored_rows(app)
    for value in ("abc", "0", "-1", "1.0", "1e3", "", "1000001", "9" * 30):
        for url in (f"/campaigns/{cid}?page={value}", f"/campaigns/{cid}/shortlist?page={value}"):
            response = recruiter.get(url)
            assert response.status_code == 400, url
            assert "« page »" in response.text
    assert stored_rows(app) == before
    # Past the last page is not an error: the shortlist shows its last page.
    assert recruiter.get(f"/campaigns/{cid}/shortlist?page=1000000").status_code == 200


def test_ids_in_queries_that_do_not_parse_are_a_400_not_dropped(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 3)
    cid = campaign_id(app)
    with app.app_context():
        first, second = db.session.scalars(sa.select(Invitation.id).limit(2)).all()
    before = stored_rows(app)
    for value in ("abc", "1.0", "1e3", "", "-2", "0"):
        cross = recruiter.get(f"/shortlist?campaign={cid}&campaign={value}&norm=pooled")
        assert cross.status_code == 400 and "« campaign »" in cross.text, value
        compare = recruiter.get(f"/compare?id={first}&id={second}&id={value}")
        assert compare.status_code == 400 and "« id »" in compare.text, value
    assert stored_rows(app) == before


def test_cross_pool_shortlist_shows_each_rows_pool(app, recruiter):
    new_campaign(recruiter, title="Lyon")
    new_campaign(recruiter, title="Nice")
    completed_pool(app, 4, campaign="Lyon")
    completed_pool(app, 3, campaign="Nice", seed=9)
    ids = [campaign_id(app, "Lyon"), campaign_id(app, "Nice")]
    page = recruiter.get(f"/shortlist?campaign={ids[0]}&campaign={ids[1]}", follow_redirects=True)
    assert page.status_code == 200
    assert len(re.findall(r'/candidates/\d+">', page.text)) == 7
    assert "<td>Lyon" in page.text and "<td>Nice" in page.text
    assert "ensemble des campagnes choisies (n = 7)" in page.text


def test_decision_needs_a_note_and_is_kept_with_who_and_when(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 2)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    page = recruiter.get(f"/candidates/{invitation_id}")
    assert "un élément parmi d'autres" in page.text
    empty = recruiter.post(
        f"/candidates/{invitation_id}",
        data={"csrf_token": csrf_from(page.text), "decision": "reject", "note": "  "},
    )
    assert empty.status_code == 400 and count(app, Decision) == 0
    bogus = recruiter.post(
        f"/candidates/{invitation_id}",
        data={"csrf_token": csrf_from(page.text), "decision": "fire", "note": "x"},
    )
    assert bogus.status_code == 400 and count(app, Decision) == 0
    ok = recruiter.post(
        f"/candidates/{invitation_id}",
        data={
            "csrf_token": csrf_from(page.text),
            "decision": "shortlist",
            "note": "Très à l'écoute en entretien téléphonique.",
        },
    )
    assert ok.status_code == 303
    with app.app_context():
        decision = db.session.scalar(sa.select(Decision))
        assert decision.user.email == "recruiter@acme.example.org"
        assert (utcnow() - decision.created_at).total_seconds() < 60
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "decision"))
        assert event.target_id == invitation_id and "note" not in event.details
    shortlist = recruiter.get(f"/campaigns/{campaign_id(app)}/shortlist")
    assert "Retenir pour un entretien" in shortlist.text


def test_a_decision_note_keeps_its_lines_but_no_invisible_control(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 1)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    page = recruiter.get(f"/candidates/{invitation_id}")
    before = stored_rows(app)
    for char in ("\x00", "\u202e", "\u2066", "\x1b"):
        refused = recruiter.post(
            f"/candidates/{invitation_id}",
            data={"csrf_token": csrf_from(page.text), "decision": "hold", "note": f"À{char}revoir"},
        )
        assert refused.status_code == 400 and CONTROL_MESSAGE in refused.text
    assert stored_rows(app) == before
    note = "Entretien :\r\n\t- très à l'écoute\r\n\t- à revoir en mars"
    ok = recruiter.post(
        f"/candidates/{invitation_id}",
        data={"csrf_token": csrf_from(page.text), "decision": "hold", "note": note},
    )
    assert ok.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Decision.note)).replace("\r\n", "\n") == note.replace(
            "\r\n", "\n"
        )


def test_compare_two_to_four_candidates(app, recruiter):
    new_campaign(recruiter)
    completed_pool(app, 5)
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Invitation.id).order_by(Invitation.id)))
    page = recruiter.get("/compare?" + "&".join(f"id={i}" for i in ids[:3]))
    assert page.status_code == 200
    assert page.text.count('class="bar') >= 3 or "<svg" in page.text
    form = questions.bank(app).get("mini", "fr")
    for item in form.items:
        best = item.keyed_best
        assert best.rationale.replace("'", "&#39;") in page.text
    one = recruiter.get(f"/compare?id={ids[0]}")
    assert one.status_code == 302
    five = recruiter.get("/compare?" + "&".join(f"id={i}" for i in ids[:5]))
    assert five.status_code == 302


def test_shortlist_runs_a_constant_number_of_queries(app, recruiter):
    """10 or 5,000 completed candidates: the same number of SQL statements for one page."""
    new_campaign(recruiter)
    cid = campaign_id(app)

    def fill(n):
        with app.app_context():
            campaign = db.session.get(Campaign, cid)
            rows = [{"name": f"P{i}", "email": f"p{i}-{n}@example.org"} for i in range(n)]
            invited = invitations.invite_many(campaign, rows)
            rng = np.random.default_rng(n)
            for invitation in invited:
                invitation.status = "completed"
                invitation.completed_at = utcnow()
            db.session.flush()
            results_ = [
                Result(
                    invitation_id=i.id,
                    campaign_id=cid,
                    form_id="mini",
                    form_version="v",
                    scoring_method="pomp-v1",
                    composite=float(rng.uniform(20, 90)),
                )
                for i in invited
            ]
            from recruit.data.models import FormVersion

            if db.session.get(FormVersion, "v") is None:
                db.session.add(FormVersion(version="v", form_id="mini", language="fr", content={}))
            db.session.add_all(results_)
            db.session.flush()
            db.session.add_all(
                ScaleScore(result_id=r.id, scale_id=s, value=float(rng.uniform(0, 100)), n_items=2)
                for r in results_
                for s in ("plaisir", "ecoute")
            )
            db.session.commit()

    def statements():
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            page = recruiter.get(f"/campaigns/{cid}/shortlist")
            assert page.status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    fill(10)
    small = statements()
    fill(4990)
    large = statements()
    assert small == large
