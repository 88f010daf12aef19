"""The `recruit` command line: the app's Flask CLI plus the bank, org, invite and demo commands."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from recruit import demo as demo_data
from recruit.auth import services as accounts
from recruit.config import QUESTIONS_DIR
from recruit.core import bank as bank_module
from recruit.data import questions
from recruit.data.models import JOB_STATUSES, Job, Organisation
from recruit.extensions import db
from recruit.services import apikeys, invitations, jobs, links, privacy, results


@click.group("bank")
def bank_group():
    """The question bank."""


def _echo_problems(problems) -> None:
    for problem in problems:
        click.echo(f"error  {problem}", err=True)


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
    _echo_problems(problems)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)


@bank_group.command("audit")
@click.argument("path", required=False, type=click.Path())
@click.option(
    "--no-learner", is_flag=True, help="Skip the template learner (it needs scikit-learn)."
)
def bank_audit(path, no_learner):
    """How the forms stand up to a test-wise candidate; exits 1 past the limits."""
    forms, problems = bank_module.check_bank(path or QUESTIONS_DIR)
    if problems:
        _echo_problems(problems)
        raise click.ClickException("the bank does not validate: run `recruit bank check` first")
    from recruit.core import audit  # numpy and, for the learner, scikit-learn: audit only

    if not no_learner:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            raise click.ClickException(
                "the template learner needs scikit-learn: pip install 'recruit[audit]' "
                "(or pass --no-learner)"
            ) from None
    failed = 0
    for form in sorted(forms.values(), key=lambda f: (f.form, f.language)):
        result = audit.audit_form(form, learner=not no_learner)
        for line in audit.report(result):
            click.echo(line)
        click.echo("")
        failed += bool(result.failures)
    if failed:
        click.echo(f"{failed} form(s) past the audit's limits.", err=True)
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
        organisation = invitations.create_organisation(name)
    except invitations.InvitationError as exc:
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
    organisation = invitations.find_organisation(org_name)
    if organisation is None:
        raise click.ClickException(f"no organisation named '{org_name}'")
    bank = questions.bank()
    if (form_id, lang) not in bank:
        raise click.ClickException(f"no form '{form_id}' in language '{lang}'")
    campaign = invitations.default_campaign(organisation, bank.get(form_id, lang))
    invitations.lock_for_invitations(campaign)
    candidate = invitations.find_or_create_candidate(organisation, name, email)
    days = expires_in_days or current_app.config["INVITATION_DAYS"]
    invitation, token = invitations.invite(campaign, candidate, days=days)
    db.session.commit()
    click.echo(
        f"Invitation {invitation.id} for {name}, valid until {invitation.expires_at:%Y-%m-%d}."
    )
    click.echo(links.link_for(token))


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo organisation, users, campaigns and candidates (safe to run twice)."""
    built = demo_data.build()
    db.session.commit()
    base = current_app.config["RECRUIT_BASE_URL"]
    click.echo(f"Demo organisation: {built['organisation'].name}")
    click.echo(f"Recruiter and HR login: {base}/login")
    for email, _name, role, password in built["users"]:
        click.echo(f"  {role:<10} {email:<34} password: {password}")
    click.echo("Candidate links to try (open one, consent, take the test):")
    for campaign, name, status, link in built["links"]:
        click.echo(f"  [{campaign.language}] {campaign.title:<24} {name:<13} {status:<9} {link}")


@click.group("norms")
def norms_group():
    """Reference norms."""


@norms_group.command("refresh")
@click.option("--org", "org_name", default=None, help="One organisation (default: all).")
@click.option("--form", "form_id", default=None, help="One form (default: every form used).")
@click.option("--method", type=click.Choice(["standard", "robust"]), default="standard")
@click.option("--queue", "queued", is_flag=True, help="One job per organisation.")
@with_appcontext
def norms_refresh(org_name, form_id, method, queued):
    """Rebuild each organisation's reference norm from all its completed tests."""
    organisations = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))
    if org_name is not None:
        organisations = [o for o in organisations if o.name == org_name]
        if not organisations:
            raise click.ClickException(f"no organisation named '{org_name}'")
    if queued:
        for organisation in organisations:
            job = jobs.start(
                "norms_refresh",
                {"form_id": form_id, "method": method},
                language="en",
                organisation_id=organisation.id,
            )
            click.echo(f"{organisation.name}: job {job.id} queued.")
        return
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
@click.option("--queue", "queued", is_flag=True, help="Run it as a job (`recruit worker`).")
@with_appcontext
def rescore(form_id, queued):
    """Recompute every stored score of a form from the raw answers, in one transaction."""
    bank = questions.bank()
    if form_id not in bank.form_ids():
        raise click.ClickException(f"no form '{form_id}' in the bank")
    if queued:
        job = jobs.start("rescore", {"form_id": form_id}, language="en", organisation_id=None)
        click.echo(f"Job {job.id} queued (rescore {form_id}): `recruit jobs show {job.id}`.")
        return
    report = results.rescore_form(bank, form_id)
    db.session.commit()
    versions = ", ".join(f"{lang} {version}" for lang, version in sorted(report.versions.items()))
    before = ", ".join(f"{n} {method}" for method, n in sorted(report.methods_before.items()))
    click.echo(
        f"{report.rescored} completed test(s) rescored with {report.method}"
        f"{f' (before: {before})' if before else ''}, {report.changed} score(s) changed; "
        f"form {form_id} now at version {versions}."
        + (
            f" {report.on_stored_items} answer(s) to items reworded or removed since were scored"
            " on the item as it read when answered."
            if report.on_stored_items
            else ""
        )
    )


@click.group("user")
def user_group():
    """Accounts of recruiters, HR and admins."""


WEAK_PASSWORD = {
    "too_short": "the password needs at least 10 characters",
    "too_long": "the password has more than 200 characters",
    "control": "the password contains control characters",
    "guessable": "the password is too easy to guess (a common password, a word, a pattern, a "
    "date or the account's own name): use three or four unrelated words",
}


@user_group.command("create")
@click.option("--org", "org_name", required=True, help="Organisation name.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "recruiter", "hr"]), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_create(org_name, email, role, name, password_stdin):
    """Create an account; prints a generated password unless one is given on stdin."""
    organisation = invitations.find_organisation(org_name)
    if organisation is None:
        raise click.ClickException(f"no organisation named '{org_name}'")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    try:
        user = accounts.create_user(organisation, email, role, password, name)
    except accounts.WeakPassword as exc:
        raise click.ClickException(WEAK_PASSWORD[exc.weakness.code]) from None
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"User {user.email} ({user.role}) created in {organisation.name}.")
    if not password_stdin:
        click.echo(f"Password: {password}")


@click.group("mail")
def mail_group():
    """The email outbox."""


@mail_group.command("send")
@click.option("--loop", is_flag=True, help="Keep running and send as messages arrive.")
@with_appcontext
def mail_send(loop):
    """Deliver the pending messages once (cron), or keep doing it (a worker process)."""
    from recruit.services import outbox

    if not loop:
        report = outbox.send_pending()
        click.echo(f"{report.sent} sent, {report.retried} to retry, {report.failed} failed.")
        return
    worker = outbox.MailWorker()
    worker.start(current_app._get_current_object())
    click.echo("Sending the outbox; Ctrl+C to stop.")
    try:
        while worker.running:
            worker.join(1.0)
    except KeyboardInterrupt:
        worker.stop()


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Report what would be anonymised; change nothing.")
@with_appcontext
def purge(dry_run):
    """Anonymise the candidates past their campaign's retention period (for cron; idempotent)."""
    report = privacy.purge(dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    names = dict(db.session.execute(sa.select(Organisation.id, Organisation.name)).all())
    verb = "would be" if dry_run else "were"
    for organisation_id, counts in sorted(report.by_organisation.items()):
        click.echo(f"{names.get(organisation_id, organisation_id)}: {_purge_counts(counts)}")
    total = report.total
    click.echo(
        f"{'Dry run: ' if dry_run else ''}{total.candidates} candidate(s) and "
        f"{total.invitations} invitation(s) {verb} anonymised ({_purge_counts(total)})."
    )


def _purge_counts(counts: privacy.Counts) -> str:
    return (
        f"{counts.invitations} invitation(s), {counts.candidates} candidate(s), "
        f"{counts.notes} decision note(s), {counts.messages} message(s), "
        f"{counts.files} .eml file(s), {counts.batches} import batch(es)"
    )


@click.group("apikey")
def apikey_group():
    """API keys for an ATS."""


@apikey_group.command("create")
@click.option("--org", "org_name", required=True, help="Organisation name.")
@click.option("--name", default="ATS", help="What the key is for.")
@with_appcontext
def apikey_create(org_name, name):
    """Create an API key and print it (last line); only its hash is kept."""
    organisation = invitations.find_organisation(org_name)
    if organisation is None:
        raise click.ClickException(f"no organisation named '{org_name}'")
    record, key = apikeys.create_key(organisation, name)
    db.session.commit()
    click.echo(f"API key {record.prefix}… ({record.name}) created for {organisation.name}.")
    click.echo(key)


@click.command("worker")
@click.option(
    "--threads",
    "--workers",
    "threads",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Jobs run at once by this process (one thread each).",
)
@with_appcontext
def worker(threads):
    """Run background jobs (Huey's consumer) until stopped: Ctrl+C (SIGINT) lets the jobs under
    way finish, SIGTERM stops at once (a job of a stopped worker is picked up again)."""
    import logging

    queue = current_app.extensions["recruit.jobs"]
    if queue.huey.immediate:
        raise click.ClickException("RECRUIT_QUEUE_URL=immediate runs jobs in the app: no worker")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stale = float(current_app.config["RECRUIT_JOB_STALE_SECONDS"])
    consumer = queue.consumer(workers=threads, stale_seconds=stale)
    click.echo(f"recruit worker: {threads} thread(s) on {type(queue.huey).__name__}; Ctrl+C stops.")
    consumer.run()


@click.group("jobs")
def jobs_group():
    """Background jobs."""


@jobs_group.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@with_appcontext
def jobs_list(status, limit):
    """The latest jobs, newest first."""
    query = sa.select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    for job in db.session.scalars(query):
        _echo_job(job)


def _echo_job(job: Job) -> None:
    size = f"{job.rows_done}/{job.rows_total}" if job.rows_total is not None else "-"
    click.echo(
        f"{job.id:>6}  {job.kind:<14} {job.status:<8} rows {size:<13} attempts {job.attempts}"
        f"  org {job.organisation_id or '-'}  {job.created_at:%Y-%m-%d %H:%M}"
        + (f"  error: {job.error}" if job.error else "")
        + (f"  {job.parameters['summary']}" if (job.parameters or {}).get("summary") else "")
    )


@jobs_group.command("show")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
def jobs_show(job_id):
    """One job."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    _echo_job(job)


@jobs_group.command("purge")
@with_appcontext
def jobs_purge():
    """Delete the files of jobs past their keeping time (24 hours; the workers do it too)."""
    click.echo(f"{jobs.purge_expired()} job file(s) deleted.")


@jobs_group.command("requeue")
@with_appcontext
def jobs_requeue():
    """Deliver again the jobs of dead workers and those nobody took (the workers do it too)."""
    ids = jobs.requeue_stale()
    click.echo(f"{len(ids)} job(s) requeued{': ' + ', '.join(map(str, ids)) if ids else ''}.")


def register_commands(app) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(jobs_group)
    app.cli.add_command(apikey_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(user_group)
    app.cli.add_command(norms_group)
    app.cli.add_command(rescore)
    app.cli.add_command(org_group)
    app.cli.add_command(invite)
    app.cli.add_command(demo)
    app.cli.add_command(purge)


def main() -> None:
    """Entry point of the `recruit` console script."""
    from recruit import create_app

    group = FlaskGroup(create_app=lambda: create_app(), help="recruit: service-orientation tests.")
    group.add_command(bank_group)
    group.main()
