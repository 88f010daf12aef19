"""The `recruit` command line: the app's Flask CLI plus the bank, org, invite and demo commands."""

from __future__ import annotations

import hashlib
import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from recruit import bank as bank_module
from recruit import results
from recruit.config import QUESTIONS_DIR
from recruit.extensions import db
from recruit.models import Campaign, Invitation, Organisation
from recruit.recruiter import services as recruiting


@click.group("bank")
def bank_group():
    """The question bank."""


@bank_group.command("check")
@click.argument("path", required=False, type=click.Path())
def bank_check(path):
    """Validate the question files (default: the bank folder) and report every problem."""
    forms, problems = bank_module.check_bank(path or QUESTIONS_DIR)
    for form in sorted(forms.values(), key=lambda f: (f.form, f.language)):
        click.echo(
            f"ok  {form.form}.{form.language}  version {form.version}  "
            f"{len(form.items)} items, {len(form.scales)} scales"
        )
    for problem in problems:
        click.echo(f"error  {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)


@click.group("org")
def org_group():
    """Organisations."""


@org_group.command("create")
@click.argument("name")
@with_appcontext
def org_create(name):
    """Create an organisation."""
    try:
        organisation = recruiting.create_organisation(name)
    except recruiting.InvitationError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Organisation {organisation.name} created (id {organisation.id}).")


def _valid_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("invite")
@click.option("--org", "org_name", required=True, help="Organisation name.")
@click.option("--form", "form_id", required=True, help="Form id, e.g. service-orientation.")
@click.option("--lang", type=click.Choice(["fr", "en"]), required=True)
@click.option("--name", required=True, help="Candidate's name.")
@click.option("--email", required=True, help="Candidate's email.")
@click.option("--expires-in-days", type=click.IntRange(1, 365), default=None)
@with_appcontext
def invite(org_name, form_id, lang, name, email, expires_in_days):
    """Invite a candidate and print the personal link (last line of the output)."""
    email = _valid_email(email)
    name = name.strip()
    if not name or len(name) > 160:
        raise click.BadParameter("the name must have 1 to 160 characters", param_hint="--name")
    organisation = recruiting.find_organisation(org_name)
    if organisation is None:
        raise click.ClickException(f"no organisation named '{org_name}'")
    bank = current_app.extensions["recruit.bank"]
    if (form_id, lang) not in bank:
        raise click.ClickException(f"no form '{form_id}' in language '{lang}'")
    campaign = recruiting.default_campaign(organisation, bank.get(form_id, lang))
    candidate = recruiting.find_or_create_candidate(organisation, name, email)
    days = expires_in_days or current_app.config["INVITATION_DAYS"]
    invitation, token = recruiting.invite(campaign, candidate, days=days)
    db.session.commit()
    click.echo(
        f"Invitation {invitation.id} for {name}, valid until {invitation.expires_at:%Y-%m-%d}."
    )
    click.echo(recruiting.link_for(token))


DEMO_ORG = "Maison Démo"
DEMO_CAMPAIGNS = [
    ("Réceptionniste", "Lyon", "fr"),
    ("Front desk agent", "Genève", "en"),
]
DEMO_CANDIDATES = [
    ("Camille Martin", "camille.martin@example.org", 0),
    ("Sacha Bernard", "sacha.bernard@example.org", 0),
    ("Alex Dupont", "alex.dupont@example.org", 0),
    ("Robin Taylor", "robin.taylor@example.org", 1),
    ("Sam Okafor", "sam.okafor@example.org", 1),
]


def _demo_nonce(label: str) -> str:
    """A stable nonce for a demo link, so `demo` can run twice and print the same links."""
    return hashlib.sha256(f"recruit-demo:{label}".encode()).hexdigest()[:32]


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo organisation, campaigns and candidate links (safe to run twice)."""
    organisation = recruiting.find_organisation(DEMO_ORG) or recruiting.create_organisation(
        DEMO_ORG
    )
    campaigns = []
    for title, site, lang in DEMO_CAMPAIGNS:
        campaign = db.session.scalar(
            sa.select(Campaign).where(
                Campaign.organisation_id == organisation.id, Campaign.title == title
            )
        )
        if campaign is None:
            campaign = Campaign(
                organisation=organisation,
                title=title,
                site=site,
                form_id="service-orientation",
                language=lang,
            )
            db.session.add(campaign)
        campaigns.append(campaign)
    db.session.flush()
    links = []
    for name, email, index in DEMO_CANDIDATES:
        campaign = campaigns[index]
        nonce = _demo_nonce(email)
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_nonce == nonce))
        if invitation is None:
            candidate = recruiting.find_or_create_candidate(organisation, name, email)
            invitation, _ = recruiting.invite(campaign, candidate, days=365, nonce=nonce)
        links.append((name, campaign, invitation.status, recruiting.invitation_link(invitation)))
    db.session.commit()
    click.echo(f"Demo organisation: {organisation.name}")
    click.echo("Candidate links (open one, consent, take the test):")
    for name, campaign, status, link in links:
        click.echo(f"  [{campaign.language}] {name:<16} {status:<10} {link}")


@click.group("norms")
def norms_group():
    """Reference norms."""


@norms_group.command("refresh")
@click.option("--org", "org_name", default=None, help="One organisation (default: all).")
@click.option("--form", "form_id", default=None, help="One form (default: every form used).")
@click.option("--method", type=click.Choice(["standard", "robust"]), default="standard")
@with_appcontext
def norms_refresh(org_name, form_id, method):
    """Rebuild each organisation's reference norm from all its completed tests."""
    organisations = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))
    if org_name is not None:
        organisations = [o for o in organisations if o.name == org_name]
        if not organisations:
            raise click.ClickException(f"no organisation named '{org_name}'")
    built = 0
    for organisation in organisations:
        form_ids = [form_id] if form_id else results.completed_form_ids(organisation.id)
        for fid in form_ids:
            norm = results.refresh_reference_norm(organisation.id, fid, method=method)
            if norm is None:
                click.echo(f"{organisation.name} / {fid}: no completed test, nothing built")
                continue
            built += 1
            click.echo(
                f"{organisation.name} / {fid}: reference norm built {norm.built_at:%Y-%m-%d %H:%M}"
                f" UTC from n={norm.n} ({method})"
            )
    db.session.commit()
    click.echo(f"{built} reference norm(s) built.")


@click.command("rescore")
@click.option("--form", "form_id", required=True, help="Form id whose scores to recompute.")
@with_appcontext
def rescore(form_id):
    """Recompute every stored score of a form from the raw answers, in one transaction."""
    bank = current_app.extensions["recruit.bank"]
    if form_id not in bank.form_ids():
        raise click.ClickException(f"no form '{form_id}' in the bank")
    report = results.rescore_form(bank, form_id)
    db.session.commit()
    versions = ", ".join(f"{lang} {version}" for lang, version in sorted(report.versions.items()))
    click.echo(
        f"{report.rescored} completed test(s) rescored, {report.changed} score(s) changed; "
        f"form {form_id} now at version {versions}."
    )


def register_commands(app) -> None:
    app.cli.add_command(norms_group)
    app.cli.add_command(rescore)
    app.cli.add_command(org_group)
    app.cli.add_command(invite)
    app.cli.add_command(demo)


def main() -> None:
    """Entry point of the `recruit` console script."""
    from recruit import create_app

    group = FlaskGroup(create_app=lambda: create_app(), help="recruit: service-orientation tests.")
    group.add_command(bank_group)
    group.main()
