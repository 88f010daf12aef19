"""Bulk invitations from a spreadsheet: the checked preview of a file, then its confirmation.

The file is read by the pure core (``recruit.core.spreadsheets``); this module checks its rows
against the people already invited, keeps a clean file as an ``ImportBatch`` waiting for the
recruiter's word, and then creates every invitation of it, all or nothing, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from recruit.core import spreadsheets, textcheck
from recruit.data.models import Campaign, ImportBatch, User, utcnow
from recruit.extensions import db
from recruit.recruiter.services import Outcome, finish
from recruit.services import invitations


@dataclass(frozen=True)
class Preview:
    """A file checked: its rows, its problems by line, and the batch kept when it has none.

    ``filename`` is the name shown (control characters removed, ``renamed`` if any were);
    ``encoding`` is a CSV's text encoding, None for XLSX."""

    rows: list[spreadsheets.ImportRow]
    problems: list[spreadsheets.ImportProblem]
    batch: ImportBatch | None
    filename: str
    renamed: bool
    encoding: str | None


def preview(campaign: Campaign, user: User, filename: str, data: bytes) -> Preview:
    """Check an uploaded file; keep it as a batch to confirm if every row can be invited."""
    # Control characters in a name (NUL, right-to-left override) hide what the file really is.
    shown = textcheck.strip_controls(filename)
    parsed = spreadsheets.parse_candidates(data, shown)
    rows, problems = parsed.rows, parsed.problems
    taken = invitations.already_invited(campaign, [r.email for r in rows])
    problems += [
        spreadsheets.ImportProblem(r.line, "email", "already_invited", r.email)
        for r in rows
        if r.email.lower() in taken
    ]
    batch = None
    if not problems and rows:
        batch = ImportBatch(
            campaign_id=campaign.id,
            user_id=user.id,
            filename=shown[:200],
            rows=[
                {"line": r.line, "name": r.name, "email": r.email, "external_id": r.external_id}
                for r in rows
            ],
        )
        db.session.add(batch)
        db.session.commit()
    return Preview(
        rows=rows,
        problems=sorted(problems, key=lambda p: (p.line or 0, p.field or "")),
        batch=batch,
        filename=shown,
        renamed=shown != filename,
        encoding=parsed.encoding,
    )


def confirm(campaign: Campaign, batch_id: int) -> Outcome | None:
    """Create every invitation of a checked file, all or nothing; None if there is no such file.

    Nothing is imported twice, into a closed campaign, or when someone of the file was invited
    since the preview (the outcome then asks for the file again, to show who)."""
    # Before reading the batch: a double click imports once, a concurrent invite waits.
    invitations.lock_for_invitations(campaign)
    batch = db.session.scalar(
        sa.select(ImportBatch).where(
            ImportBatch.id == batch_id, ImportBatch.campaign_id == campaign.id
        )
    )
    if batch is None:
        return None
    if batch.imported_at is not None:
        return Outcome(_("Ce fichier a déjà été importé."), "error")
    if campaign.status != "open":
        return Outcome(_("Cette campagne est clôturée."), "error")
    # Someone may have been invited since the preview: check again, import nothing if so.
    taken = invitations.already_invited(campaign, [r["email"] for r in batch.rows])
    if taken:
        return Outcome(
            _(
                "%(n)s personne(s) du fichier ont été invitées entre-temps : rien n'a été importé, "
                "renvoyez le fichier pour voir le détail.",
                n=len(taken),
            ),
            "error",
            resend=True,
        )
    invited = invitations.invite_many(campaign, batch.rows)
    batch.imported_at = utcnow()
    finish("candidates_imported", "campaign", campaign.id, count=len(invited), batch=batch.id)
    return Outcome(
        _(
            "%(n)s invitation(s) créée(s). Envoyez les e-mails quand vous êtes prêt.",
            n=len(invited),
        )
    )
