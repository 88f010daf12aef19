"""Scores and normalized scores, shared by every capability that shows or exports them.

Raw answers are the record; scores are derived from them (``score_invitation``,
``rescore_form``), and normalized scores are derived from scores on the norm a user picks
(``normalized_scores``). Functions add and flush; the caller commits once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from recruit.core import norms, scoring
from recruit.core.bank import Bank, Form, wordings
from recruit.core.bank import stored_form as bank_stored_form
from recruit.data import frames
from recruit.data.models import (
    Answer,
    Campaign,
    FormVersion,
    Invitation,
    ReferenceNorm,
    ReferenceNormScale,
    Result,
    ScaleScore,
    insert_missing,
    utcnow,
)
from recruit.extensions import db
from recruit.services import scorecache

# The norms a user may pick, by name: the one place their names and labels are written.
NORM_LABELS = {
    "campaign": _l("Chaque campagne"),
    "pooled": _l("Campagnes regroupées"),
    "reference": _l("Référence de l'organisation"),
}
NORM_DESCRIPTIONS = {
    "campaign": _l("chaque campagne est son propre groupe de comparaison"),
    "pooled": _l("les campagnes choisies réunies en un seul groupe"),
    "reference": _l("norme de référence enregistrée de l'organisation, par questionnaire"),
}
NORMS = tuple(NORM_LABELS)
# What an attempt's flags say to a recruiter: a short label and the sentence that explains it.
FLAG_LABELS = {scoring.UNIFORM_RATINGS: _l("Réponses uniformes, à vérifier")}
FLAG_NOTES = {
    scoring.UNIFORM_RATINGS: _l(
        "Les notes données aux situations à évaluer ne varient presque pas (moins de trois "
        "valeurs différentes) : ces situations ne sont pas comptées et l'indice est calculé sur "
        "les autres situations. Voyez avec la personne si la consigne était claire."
    )
}


def flags_of(value: object) -> list[str]:
    """The flag codes stored in a result's ``flags`` (a space-separated text, maybe missing)."""
    if not isinstance(value, str):
        return []
    return [code for code in value.split() if code in FLAG_LABELS]


COMPOSITE = frames.COMPOSITE
COMPOSITE_LABEL = _l("Indice d'orientation service")


def scale_labels(form: Form) -> dict[str, str]:
    """The composite's label and each scale's, by id: what every page and export shows."""
    return {COMPOSITE: str(COMPOSITE_LABEL)} | {s.id: s.label for s in form.scales}


class NormUnavailable(LookupError):
    """The norm asked for cannot be built (no reference norm stored yet, say)."""


def ensure_form_version(form: Form) -> str:
    """Store this form's exact content once, keyed by its version hash."""
    version = form.version
    if (
        db.session.scalar(sa.select(FormVersion.version).where(FormVersion.version == version))
        is None
    ):
        insert_missing(
            FormVersion,
            version=version,
            form_id=form.form,
            language=form.language,
            content=form.model_dump(mode="json"),
            first_used_at=utcnow(),
        )
    return version


def valid_responses(form: Form, payloads: dict[str, dict]) -> dict[str, scoring.Response]:
    """Stored answers that fit the form as it is now; answers to removed items are left out."""
    responses = {}
    for item_id, payload in payloads.items():
        try:
            responses[item_id] = scoring.parse_response(form.item(item_id), payload)
        except (KeyError, scoring.InvalidResponse):
            continue
    return responses


def valid_payloads(form: Form, payloads: dict[str, dict]) -> dict[str, dict]:
    """The stored answers that fit the form as it is now, as given (what a result's ``picks``
    keeps)."""
    responses = valid_responses(form, payloads)
    return {item_id: payloads[item_id] for item_id in responses}


def result_values(
    form: Form, attempt: scoring.AttemptScore, payloads: dict[str, dict], version: str
) -> dict:
    """The columns of a Result for an attempt scored on ``form`` (stored as ``version``), besides
    its invitation and campaign: every derived number is written here, once, when scored."""
    return {
        "form_id": form.form,
        "form_version": version,
        "scoring_method": attempt.method,
        "composite": attempt.composite,
        "flags": " ".join(attempt.flags),
        "item_scores": dict(attempt.items),
        "picks": valid_payloads(form, payloads),
        "scored_at": utcnow(),
    }


def _store(
    result: Result,
    form: Form,
    payloads: dict[str, dict],
    campaign_id: int,
    version: str = "",
) -> None:
    attempt = scoring.score_attempt(form, valid_responses(form, payloads))
    values = result_values(form, attempt, payloads, version or ensure_form_version(form))
    for column, value in values.items():
        setattr(result, column, value)
    result.campaign_id = campaign_id
    result.scales = [
        ScaleScore(scale_id=scale, value=s.value, n_items=s.n_items)
        for scale, s in attempt.scales.items()
    ]


def score_invitation(invitation: Invitation, form: Form) -> Result:
    """Score an invitation's stored answers and store the result with form version and method,
    its item scores and the answers they came from."""
    payloads = dict(
        db.session.execute(
            sa.select(Answer.item_id, Answer.payload).where(Answer.invitation_id == invitation.id)
        ).all()
    )
    result = Result(invitation_id=invitation.id)
    _store(result, form, payloads, invitation.campaign_id)
    db.session.add(result)
    db.session.flush()
    return result


@dataclass(frozen=True)
class RescoreReport:
    form_id: str
    rescored: int
    changed: int
    versions: dict[str, str]  # language -> the form version the scores now point to
    methods_before: dict[str, int]  # scoring method -> results that had it before
    on_stored_items: int = 0  # answers scored on the item as it read when they were given
    method: str = scoring.METHOD  # the method every result now has


def rescore_form(bank: Bank, form_id: str) -> RescoreReport:
    """Recompute every stored score of a form from its raw answers with the current scoring
    method (results stored with pomp-v1 move to pomp-v2), in the caller's transaction.

    An answer is scored on the bank's item as it is now while that item reads as it did when the
    answer was given (bank.item_wording), so a key change reaches every result; an answer to an
    item reworded or removed since is scored on the item it answered, from the stored form
    version (a version-1 item on its first scale). Results point to the current version, or to
    the answers' own version when some were scored on it; answers keep theirs.
    """
    completed = db.session.execute(
        sa.select(Invitation.id, Campaign.language, Campaign.id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.form_id == form_id, Invitation.status == "completed")
    ).all()
    languages = {invitation_id: language for invitation_id, language, _ in completed}
    campaigns = {invitation_id: campaign_id for invitation_id, _, campaign_id in completed}
    answers: dict[int, dict[str, tuple[dict, str]]] = defaultdict(dict)
    for invitation_id, item_id, payload, version in db.session.execute(
        sa.select(Answer.invitation_id, Answer.item_id, Answer.payload, Answer.form_version).where(
            Answer.invitation_id.in_(list(languages))
        )
    ):
        answers[invitation_id][item_id] = (payload, version)
    existing = {
        r.invitation_id: r
        for r in db.session.scalars(
            sa.select(Result).where(Result.invitation_id.in_(list(languages)))
        )
    }
    stored = StoredVersions(bank, form_id)
    changed, on_stored = 0, 0
    methods_before: dict[str, int] = defaultdict(int)
    for invitation_id, language in languages.items():
        form, version, swapped = stored.form_for(
            bank.get(form_id, language), answers[invitation_id]
        )
        on_stored += swapped
        payloads = {item_id: payload for item_id, (payload, _) in answers[invitation_id].items()}
        result = existing.get(invitation_id)
        if result is None:
            result = Result(invitation_id=invitation_id)
            db.session.add(result)
        methods_before[result.scoring_method or "-"] += 1
        before = _scored(result)
        _store(result, form, payloads, campaigns[invitation_id], version)
        changed += before != _scored(result)
    db.session.flush()
    versions = {lang: bank.get(form_id, lang).version for lang in bank.languages(form_id)}
    return RescoreReport(
        form_id, len(languages), changed, versions, dict(methods_before), on_stored
    )


def _scored(result: Result) -> tuple:
    """What a rescore may change in a result: composite, scale scores and flags."""
    return (
        result.composite,
        {s.scale_id: s.value for s in result.scales or []},
        result.flags or "",
    )


class StoredVersions:
    """The stored form versions a form's answers were given under, each read once."""

    def __init__(self, bank: Bank, form_id: str):
        self._content: dict[str, dict] = {}
        self._wordings: dict[str, dict[str, tuple]] = {}
        for language in bank.languages(form_id):
            form = bank.get(form_id, language)
            self._keep(form.version, form.model_dump(mode="json"))

    def _keep(self, version: str, content: dict) -> None:
        self._content[version] = content
        self._wordings[version] = wordings(content)

    def _read(self, version: str) -> None:
        if version not in self._content:
            content = db.session.scalar(
                sa.select(FormVersion.content).where(FormVersion.version == version)
            )
            self._keep(version, content or {})

    def reads_as_now(self, current: Form, item_id: str, version: str) -> bool:
        """Whether the item answered under ``version`` reads as the current form's item."""
        if version == current.version:
            return True
        self._read(version)
        return self._wordings[version].get(item_id) == self._wordings[current.version].get(item_id)

    def form_for(self, current: Form, answers: dict[str, tuple[dict, str]]) -> tuple:
        """(form to score on, version to record ("" for the form's own), number of answers
        scored on a stored item): the current form, with the stored item in place of each item
        reworded or removed since it was answered."""
        swapped: dict[str, dict] = {}
        versions = set()
        for item_id, (_, version) in answers.items():
            if self.reads_as_now(current, item_id, version):
                continue
            item = next(
                (i for i in self._content[version].get("items", []) if i.get("id") == item_id),
                None,
            )
            if item is not None:
                swapped[item_id] = item
                versions.add(version)
        if not swapped:
            return current, "", 0
        content = self._content[current.version]
        count = len(swapped)
        items = [swapped.pop(i["id"], i) for i in content["items"]] + list(swapped.values())
        # The answers' version (one of them, should a test have spanned a bank update).
        version = max(versions)
        return bank_stored_form(content, items), version, count


@dataclass(frozen=True)
class NormInfo:
    """What a set of normalized scores was computed against."""

    kind: str  # campaign, pooled or reference
    method: str
    built_at: datetime | None = None
    n: int | None = None


def scale_columns(frame: pd.DataFrame) -> list[str]:
    """The score columns of a frame from frames.scores or normalized_scores: the composite, then
    each scale (raw 0..100 columns, not their derived z, T... columns)."""
    candidates = [
        c
        for c in frame.columns
        if c not in frames.SCORE_COLUMNS and c != frames.COMPOSITE and not c.startswith("norm_")
    ]
    normalized = [c for c in candidates if f"{c}_z" in frame.columns]
    if f"{frames.COMPOSITE}_z" in frame.columns:
        return [frames.COMPOSITE, *normalized]
    return [frames.COMPOSITE, *candidates]


def reference_table(organisation_id: int, form_ids: Sequence[str]) -> tuple[pd.DataFrame, NormInfo]:
    """The latest stored reference norm of each form, as a norm table pooled by ``form_id``."""
    latest = (
        sa.select(sa.func.max(ReferenceNorm.id))
        .where(
            ReferenceNorm.organisation_id == organisation_id,
            ReferenceNorm.form_id.in_(list(form_ids)),
        )
        .group_by(ReferenceNorm.form_id)
    )
    stored = list(db.session.scalars(sa.select(ReferenceNorm).where(ReferenceNorm.id.in_(latest))))
    if {n.form_id for n in stored} != set(form_ids):
        raise NormUnavailable("no reference norm yet: run `recruit norms refresh`")
    rows = [
        {
            "form_id": norm.form_id,
            "scale": s.scale_id,
            "n": s.n,
            "mean": s.mean,
            "sd": s.sd,
            "median": s.median,
            "mad": s.mad,
            "location": s.location,
            "spread": s.spread,
            "provisional": False,
            "percentile": "normal",
            "method": norm.method,
        }
        for norm in stored
        for s in norm.scales
    ]
    info = NormInfo(
        "reference",
        stored[0].method if stored else "standard",
        min((n.built_at for n in stored), default=None),
        sum(n.n for n in stored),
    )
    return pd.DataFrame(rows, columns=["form_id", *norms.TABLE_COLUMNS]), info


def normalized_scores(
    organisation_id: int,
    campaign_ids: Sequence[int] | None = None,
    *,
    norm: str = "campaign",
    method: str = "standard",
    min_pool: int = 30,
) -> tuple[pd.DataFrame, NormInfo]:
    """The raw and normalized scores of completed tests in the campaigns, on the chosen norm.

    ``norm``: ``campaign`` (each campaign is its own pool), ``pooled`` (all chosen campaigns
    together) or ``reference`` (the organisation's stored reference norm of each form).
    Returns frames.scores' columns plus, for the composite and every scale ``s``, the columns
    of norms.apply_norms, and ``norm_pool`` (the pool each row was compared with), by
    invitation id. A copy of what ``scored`` keeps: the caller may change it.
    """
    entry = scored(organisation_id, campaign_ids, norm=norm, method=method, min_pool=min_pool)
    return entry.frame.copy(), entry.extra


def scored(
    organisation_id: int,
    campaign_ids: Sequence[int] | None = None,
    *,
    norm: str = "campaign",
    method: str = "standard",
    min_pool: int = 30,
) -> scorecache.Entry:
    """``normalized_scores``' frame and NormInfo (``.frame``, ``.extra``) as the app's
    scorecache keeps them while the scores they come from stay the same, with what pages
    derive from them (``.derived``): shared between requests, read-only."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}")
    chosen = None if campaign_ids is None else tuple(sorted({int(i) for i in campaign_ids}))
    return scorecache.cache().entry(
        (organisation_id, chosen, norm, method, min_pool),
        scorecache.stamp(organisation_id, chosen),
        lambda: _normalized(organisation_id, chosen, norm, method, min_pool),
    )


def _normalized(
    organisation_id: int,
    campaign_ids: Sequence[int] | None,
    norm: str,
    method: str,
    min_pool: int,
) -> tuple[pd.DataFrame, NormInfo]:
    frame = frames.scores(organisation_id, campaign_ids)
    scales = scale_columns(frame)
    if norm == "campaign":
        frame["norm_pool"] = "campaign:" + frame["campaign_id"].astype("string")
        table = norms.fit_norms(
            frame, pool="norm_pool", scales=scales, method=method, min_pool=min_pool
        )
        info = NormInfo("campaign", method)
    elif norm == "pooled":
        frame["norm_pool"] = "pooled"
        table = norms.fit_norms(
            frame, pool="norm_pool", scales=scales, method=method, min_pool=min_pool
        )
        info = NormInfo("pooled", method, n=len(frame))
    else:
        table, info = reference_table(organisation_id, sorted(frame["form_id"].unique()))
        frame["norm_pool"] = "reference:" + frame["form_id"].astype("string")
        table = table.assign(norm_pool="reference:" + table["form_id"])
    normalized = norms.apply_norms(frame, table, pool="norm_pool", scales=scales)
    return pd.concat([frame, normalized], axis=1), info


def refresh_reference_norm(
    organisation_id: int, form_id: str, *, method: str = "standard"
) -> ReferenceNorm | None:
    """Store a new reference norm: every completed result of the form pooled; None if none."""
    frame = frames.scores(organisation_id)
    frame = frame[frame["form_id"] == form_id]
    if frame.empty:
        return None
    scales = scale_columns(frame)
    table = norms.fit_norms(
        frame.assign(pool="all"), pool="pool", scales=scales, method=method, min_pool=0
    )
    norm = ReferenceNorm(
        organisation_id=organisation_id, form_id=form_id, method=method, n=len(frame)
    )
    norm.scales = [
        ReferenceNormScale(
            scale_id=row.scale,
            n=int(row.n),
            **{
                c: (None if pd.isna(getattr(row, c)) else float(getattr(row, c)))
                for c in ("mean", "sd", "median", "mad", "location", "spread")
            },
        )
        for row in table.itertuples(index=False)
    ]
    db.session.add(norm)
    db.session.flush()
    return norm


def completed_form_ids(organisation_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Campaign.form_id)
            .join(Invitation, Invitation.campaign_id == Campaign.id)
            .where(Campaign.organisation_id == organisation_id, Invitation.status == "completed")
            .distinct()
            .order_by(Campaign.form_id)
        )
    )
