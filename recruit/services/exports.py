"""Exports of completed tests: one frame of candidates, streamed as CSV or written as XLSX.

``export_frame`` builds the rows (one per completed test) and an ``ExportContext`` (what the
workbook's other sheets show); ``csv_chunks`` and ``write_xlsx`` turn them into files. No routes
and no commits here: the HR export routes and the JSON API call these functions.

File conventions (the README repeats them):

- Columns: ``COLUMNS`` (stable, lowercase, English names). The workbook's texts (sheet names,
  headers, meanings, the "about" sheet) are in the request's language: French unless the user
  reads the site in English (or an API client asks for it with Accept-Language).
- CSV: UTF-8, with a byte-order mark by default so that Excel reads the accents; separator ``,``
  or ``;`` (French Excel); the decimal separator is always a point; lines end with CRLF (RFC
  4180); an empty field is a missing value; dates are UTC, ``YYYY-MM-DD HH:MM:SS``; booleans
  are ``True``/``False``.
- Formula injection: every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading single quote (``neutralize``), in the CSV and in the workbook;
  the workbook also writes every text as a string cell, never as a formula.
- Normalized scores are those of ``results.normalized_scores`` on the whole of each chosen
  campaign: the date filter selects rows afterwards, so a candidate's T-score in the export is
  the one the shortlist shows, whatever period is exported.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
import xlsxwriter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.core import norms, scoring
from recruit.core.bank import Bank
from recruit.data import frames, questions
from recruit.data.models import (
    Answer,
    Campaign,
    Candidate,
    Invitation,
    Organisation,
    Result,
    utcnow,
)
from recruit.extensions import db
from recruit.services import results

COMPOSITE = frames.COMPOSITE
DERIVED = ("z", "t", "pct", "sten", "stanine")
# Decimals kept for each kind of score column ("" is the raw score); sten and stanine are whole.
DECIMALS = {"": 2, "z": 3, "t": 1, "pct": 1}
ID_COLUMNS = [
    "invitation_id",
    "external_id",
    "candidate_name",
    "candidate_email",
    "campaign_id",
    "campaign",
    "site",
    "language",
    "form_id",
    "form_version",
    "scoring_method",
    "completed_at",
]
NORM_COLUMNS = ["norm_kind", "norm_pool", "norm_n", "norm_provisional", "norm_method"]
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The whole Content-Type, written once: a Response given `mimetype="text/csv; charset=utf-8"`
# appends its own charset a second time.
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
CSV_SEPARATORS = {"comma": ",", "semicolon": ";"}  # the exports' `sep=` parameter
BOM = "\ufeff"
SEPARATORS = (",", ";", "\t")
SCALE = "<scale>"  # stands for the composite and every scale id in COLUMNS

COLUMNS: list[tuple[str, str]] = [
    ("invitation_id", _l("Identifiant de l'invitation : une ligne par test terminé.")),
    (
        "external_id",
        _l("Identifiant du candidat dans votre logiciel de recrutement, s'il a été donné."),
    ),
    ("candidate_name", _l("Nom du candidat.")),
    ("candidate_email", _l("Adresse e-mail du candidat.")),
    ("campaign_id", _l("Identifiant de la campagne (le vivier de candidats).")),
    ("campaign", _l("Intitulé de la campagne.")),
    ("site", _l("Site de la campagne (vide si aucun).")),
    ("language", _l("Langue du questionnaire passé (fr ou en).")),
    ("form_id", _l("Identifiant du questionnaire.")),
    ("form_version", _l("Version exacte du questionnaire : empreinte de son contenu.")),
    (
        "scoring_method",
        _l(
            "Méthode de cotation des réponses (pomp-v1 : proportion du maximum possible, "
            "+rating-std : notes standardisées par personne)."
        ),
    ),
    ("completed_at", _l("Date et heure de fin du test, en temps universel (UTC).")),
    (
        COMPOSITE,
        _l(
            "Indice d'orientation service : moyenne des échelles pondérée par les poids du "
            "questionnaire, score brut de 0 à 100 (2 décimales)."
        ),
    ),
    (
        SCALE,
        _l("Score brut de l'échelle, de 0 à 100 (2 décimales) ; vide sans réponse sur l'échelle."),
    ),
    (
        f"{SCALE}_z",
        _l(
            "Score z par rapport au groupe de comparaison : (score - position) / dispersion "
            "(3 décimales)."
        ),
    ),
    (f"{SCALE}_t", _l("Note T = 50 + 10 z (1 décimale).")),
    (
        f"{SCALE}_pct",
        _l(
            "Rang percentile dans le groupe de comparaison, de 0 à 100 (1 décimale) : part des "
            "personnes en dessous + moitié des ex aequo ; courbe normale pour une norme "
            "provisoire ou de référence."
        ),
    ),
    (f"{SCALE}_sten", _l("Sten de 1 à 10 : plancher(2 z) + 6, borné.")),
    (
        f"{SCALE}_stanine",
        _l("Stanine de 1 à 9, d'après le percentile (bornes 4, 11, 23, 40, 60, 77, 89, 96)."),
    ),
    (
        "norm_kind",
        _l(
            "Norme choisie : campaign (chaque campagne est son propre groupe), pooled (les "
            "campagnes choisies réunies) ou reference (la norme de référence de l'organisation)."
        ),
    ),
    (
        "norm_pool",
        _l(
            "Groupe de comparaison de la ligne : campaign:<id>, pooled ou "
            "reference:<questionnaire>."
        ),
    ),
    ("norm_n", _l("Effectif du groupe de comparaison (le plus grand sur les échelles).")),
    (
        "norm_provisional",
        _l("True si le groupe est trop petit : norme provisoire, rapprochée de l'ensemble."),
    ),
    (
        "norm_method",
        _l(
            "Méthode de normalisation : standard (moyenne et écart-type) ou robust (médiane et "
            "1,4826 x écart absolu médian)."
        ),
    ),
]
_MEANINGS = dict(COLUMNS)

SHEETS = {
    "candidates": _l("candidats"),
    "scales": _l("échelles"),
    "norms": _l("normes"),
    "items": _l("items"),
    "columns": _l("colonnes"),
    "about": _l("à propos"),
}
SCALE_HEADERS = {
    "form_id": _l("questionnaire"),
    "language": _l("langue"),
    "scale": _l("échelle"),
    "label": _l("libellé"),
    "short": _l("libellé court"),
    "description": _l("description"),
    "weight": _l("poids"),
}
NORM_HEADERS = {
    "pool": _l("groupe"),
    "scale": _l("échelle"),
    "n": _l("n"),
    "mean": _l("moyenne"),
    "sd": _l("écart-type"),
    "median": _l("médiane"),
    "mad": _l("écart absolu médian"),
    "location": _l("position"),
    "spread": _l("dispersion"),
    "provisional": _l("provisoire"),
    "percentile": _l("percentile"),
    "method": _l("méthode"),
}
RELIABILITY_HEADERS = {
    "form_id": _l("questionnaire"),
    "language": _l("langue"),
    "form_version": _l("version cotée"),
    "alpha": _l("alpha"),
    "ci_low": _l("IC 95 % bas"),
    "ci_high": _l("IC 95 % haut"),
    "n": _l("n (cas complets)"),
    "k": _l("items"),
}
ITEM_HEADERS = {
    "form_id": _l("questionnaire"),
    "language": _l("langue"),
    "item": _l("item"),
    "scale": _l("échelle principale"),
    "format": _l("format"),
    "n": _l("n"),
    "mean": _l("moyenne"),
    "sd": _l("écart-type"),
    "item_rest_r": _l("corrélation item-reste"),
    "alpha_if_deleted": _l("alpha sans l'item"),
    "negative": _l("corrélation négative"),
}
COLUMN_HEADERS = [_l("colonne"), _l("signification")]
ABOUT_HEADERS = [_l("rubrique"), _l("valeur")]
NOTE = _l(
    "Le test est un élément d'appréciation parmi d'autres : il éclaire une décision, il ne la "
    "prend pas. Aucune candidature ne doit être écartée sur ce seul résultat."
)
NORM_KINDS = results.NORM_DESCRIPTIONS
NORM_METHODS = {
    "standard": _l("standard : moyenne et écart-type"),
    "robust": _l("robuste : médiane et 1,4826 x écart absolu médian"),
}


@dataclass(frozen=True)
class ExportFilters:
    """Which completed tests an export holds, and on which norm."""

    campaign_ids: tuple[int, ...] | None = None  # None = every campaign of the organisation
    date_from: date | None = None  # on completed_at (UTC), inclusive
    date_to: date | None = None  # inclusive
    norm: str = "campaign"  # campaign | pooled | reference (see results.NORMS)
    method: str = "standard"  # standard | robust (see norms.METHODS)
    min_pool: int = 30  # smaller pools are provisional (see norms.fit_norms)


@dataclass(frozen=True)
class ExportContext:
    """What the workbook's sheets other than the candidates need, and the API may show."""

    organisation: str
    filters: ExportFilters
    exported_at: datetime  # naive UTC, like every time in the database
    norm: results.NormInfo
    # One row per pool and scale used by the rows: pool, then norms.TABLE_COLUMNS.
    norm_table: pd.DataFrame
    # form_id, language, scale, label, short, description, weight: the bank's scales of the
    # forms of the chosen campaigns.
    scales: pd.DataFrame
    # campaign_id, campaign, site, form_id, language: the campaigns the filters chose.
    campaigns: pd.DataFrame
    # form_id, language, form_version, n: the form versions the rows were scored with.
    form_versions: pd.DataFrame
    scoring_methods: tuple[str, ...]
    scale_ids: tuple[str, ...]  # the composite, then the scales, in column order
    rows: int
    # form_id, language, item, scale, format, n, mean, sd, item_rest_r, alpha_if_deleted,
    # negative (see norms.item_statistics); None when export_frame was asked not to compute it.
    item_statistics: pd.DataFrame | None = None
    # form_id, language, form_version, alpha, ci_low, ci_high, n, k (see norms.reliability).
    reliability: pd.DataFrame | None = None


# --- Formula injection ---------------------------------------------------------------------


def neutralize(value):
    """A text starting with =, +, -, @, a tab or a carriage return gets a leading quote.

    Spreadsheets read such a cell as a formula (OWASP "CSV injection"); anything else is
    returned unchanged.
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_STARTS):
        return "'" + value
    return value


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column.dtype) and not isinstance(
        column.dtype, pd.CategoricalDtype
    )


def _neutralized(column: pd.Series) -> pd.Series:
    """``neutralize`` on every cell of a text column, vectorized."""
    risky = column.str.startswith(DANGEROUS_STARTS, na=False)
    if not risky.any():
        return column
    return column.where(~risky, "'" + column)


def neutralized_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text column neutralized (a copy; the frame is left as it is)."""
    changed = {c: _neutralized(frame[c]) for c in frame.columns if _is_text(frame[c])}
    return frame.assign(**changed) if changed else frame


# --- The frame -----------------------------------------------------------------------------


def export_columns(scale_ids: Sequence[str]) -> list[str]:
    """The columns of an export, in order, for the composite and scales ``scale_ids``."""
    scores = [f"{s}{'_' + d if d else ''}" for s in scale_ids for d in ("", *DERIVED)]
    return [*ID_COLUMNS, *scores, *NORM_COLUMNS]


def _clean_round(values: pd.Series, decimals: int) -> pd.Series:
    # + 0.0 turns the -0.0 that rounding a small negative number gives into 0.0.
    return values.astype("float64").round(decimals) + 0.0


def round_scores(frame: pd.DataFrame, scale_ids: Sequence[str]) -> pd.DataFrame:
    """Raw scores to 2 decimals, z to 3, T and percentile to 1, sten and stanine whole (Int64)."""
    rounded = {}
    for scale in scale_ids:
        for suffix, decimals in DECIMALS.items():
            name = f"{scale}_{suffix}" if suffix else scale
            rounded[name] = _clean_round(frame[name], decimals)
        for suffix in ("sten", "stanine"):
            name = f"{scale}_{suffix}"
            rounded[name] = frame[name].astype("Float64").round(0).astype("Int64")
    return frame.assign(**rounded)


def describe_columns(
    columns: Sequence[str], labels: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """(name, meaning) of each actual column of an export; scale columns name their scale."""
    labels = labels or {}
    described = []
    for column in columns:
        if column in _MEANINGS and column != COMPOSITE:
            described.append((column, str(_MEANINGS[column])))
            continue
        scale, _sep, suffix = column.rpartition("_")
        if suffix not in DERIVED:
            scale, suffix = column, ""
        generic = f"{SCALE}_{suffix}" if suffix else (COMPOSITE if scale == COMPOSITE else SCALE)
        meaning = str(_MEANINGS.get(generic, ""))
        if scale == COMPOSITE and suffix:
            meaning = _("Indice d'orientation service.") + f" {meaning}"
        elif scale != COMPOSITE:
            meaning = f"{labels.get(scale, scale)}. {meaning}"
        described.append((column, meaning))
    return described


def _campaigns(organisation_id: int, campaign_ids: Sequence[int] | None) -> pd.DataFrame:
    query = sa.select(
        Campaign.id.label("campaign_id"),
        Campaign.title.label("campaign"),
        Campaign.site,
        Campaign.form_id,
        Campaign.language,
    ).where(Campaign.organisation_id == organisation_id)
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_([int(i) for i in campaign_ids]))
    rows = db.session.execute(query.order_by(Campaign.id)).all()
    return pd.DataFrame(rows, columns=["campaign_id", "campaign", "site", "form_id", "language"])


def _scale_definitions(bank: Bank, campaigns: pd.DataFrame) -> pd.DataFrame:
    pairs = campaigns[["form_id", "language"]].drop_duplicates()
    rows = []
    for form_id, language in pairs.itertuples(index=False):
        if (form_id, language) not in bank:
            continue
        for scale in bank.get(form_id, language).scales:
            rows.append(
                (form_id, language, scale.id, scale.label, scale.short, scale.description)
                + (scale.weight,)
            )
    return pd.DataFrame(rows, columns=list(SCALE_HEADERS))


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in naive UTC for the days ``first`` to ``last`` inclusive; None = open."""
    start = datetime.combine(first, datetime.min.time()) if first else None
    end = datetime.combine(last + timedelta(days=1), datetime.min.time()) if last else None
    return start, end


def _people(organisation_id: int, filters: ExportFilters) -> pd.DataFrame:
    """Names, emails and external ids of the scored invitations the filters choose: one query."""
    query = (
        sa.select(
            Invitation.id.label("invitation_id"),
            Candidate.external_id,
            Candidate.name.label("candidate_name"),
            Candidate.email.label("candidate_email"),
        )
        .join(Result, Result.invitation_id == Invitation.id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(Campaign.organisation_id == organisation_id)
    )
    if filters.campaign_ids is not None:
        query = query.where(Campaign.id.in_([int(i) for i in filters.campaign_ids]))
    start, end = day_bounds(filters.date_from, filters.date_to)
    if start is not None:
        query = query.where(Invitation.completed_at >= start)
    if end is not None:
        query = query.where(Invitation.completed_at < end)
    rows = db.session.execute(query).all()
    return pd.DataFrame(
        rows, columns=["invitation_id", "external_id", "candidate_name", "candidate_email"]
    )


def _norm_table(
    organisation_id: int,
    scored: pd.DataFrame,
    scales: list[str],
    info: results.NormInfo,
    filters: ExportFilters,
) -> pd.DataFrame:
    """The norm table normalized_scores applied: refitted the same way, or the stored one."""
    columns = ["pool", *norms.TABLE_COLUMNS]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    if info.kind == "reference":
        table, _built = results.reference_table(organisation_id, sorted(scored["form_id"].unique()))
        table = table.assign(pool="reference:" + table["form_id"])
    else:
        table = norms.fit_norms(
            scored,
            pool="norm_pool",
            scales=scales,
            method=filters.method,
            min_pool=filters.min_pool,
        ).rename(columns={"norm_pool": "pool"})
    return table[columns].reset_index(drop=True)


def export_frame(
    organisation_id: int, filters: ExportFilters | None = None, *, items: bool = True
) -> tuple[pd.DataFrame, ExportContext]:
    """One row per completed test of the organisation that the filters choose, and its context.

    Columns: ``export_columns(context.scale_ids)`` (see COLUMNS), sorted by invitation_id.
    Scores are rounded (``round_scores``), missing ones are NaN / NA; text is as stored (the
    writers neutralize it). ``items=False`` skips the item statistics (they re-score every
    answer: a CSV export does not need them). Raises results.NormUnavailable when the
    reference norm is asked for and not stored yet.
    """
    filters = filters or ExportFilters()
    bank: Bank = questions.bank()
    organisation = db.session.get(Organisation, organisation_id)
    campaigns = _campaigns(organisation_id, filters.campaign_ids)
    scale_definitions = _scale_definitions(bank, campaigns)

    scored, info = results.normalized_scores(
        organisation_id,
        filters.campaign_ids,
        norm=filters.norm,
        method=filters.method,
        min_pool=filters.min_pool,
    )
    stored_scales = [c for c in scored.columns if c != COMPOSITE and f"{c}_z" in scored.columns]
    bank_order = list(dict.fromkeys(scale_definitions["scale"]))
    scale_ids = [COMPOSITE] + [s for s in bank_order if s != COMPOSITE]
    scale_ids += sorted(set(stored_scales) - set(scale_ids))
    table = _norm_table(organisation_id, scored, [COMPOSITE, *stored_scales], info, filters)

    frame = scored
    if not frame.empty:
        completed = pd.to_datetime(frame["completed_at"])
        start, end = day_bounds(filters.date_from, filters.date_to)
        keep = pd.Series(True, index=frame.index)
        if start is not None:
            keep &= completed >= pd.Timestamp(start)
        if end is not None:
            keep &= completed < pd.Timestamp(end)
        frame = frame[keep.to_numpy()].assign(completed_at=completed[keep].dt.floor("s"))
        frame = frame.merge(_people(organisation_id, filters), on="invitation_id", how="left")
    frame = _typed(frame, export_columns(scale_ids), scale_ids, info, table)
    frame = frame.sort_values("invitation_id", kind="stable").reset_index(drop=True)

    table = table[table["pool"].isin(set(frame["norm_pool"].dropna()))].reset_index(drop=True)
    versions = (
        frame.groupby(["form_id", "language", "form_version"], sort=True)
        .size()
        .rename("n")
        .reset_index()
    )
    item_stats = reliability = None
    if items:
        item_stats, reliability = item_tables(
            frame[["invitation_id", "form_id", "language", "scoring_method"]], bank
        )
    context = ExportContext(
        organisation=organisation.name if organisation is not None else "",
        filters=filters,
        exported_at=utcnow().replace(microsecond=0),
        norm=info,
        norm_table=table,
        scales=scale_definitions,
        campaigns=campaigns,
        form_versions=versions,
        scoring_methods=tuple(sorted(frame["scoring_method"].dropna().unique())),
        scale_ids=tuple(scale_ids),
        rows=len(frame),
        item_statistics=item_stats,
        reliability=reliability,
    )
    return frame, context


def _typed(
    frame: pd.DataFrame,
    columns: list[str],
    scale_ids: list[str],
    info: results.NormInfo,
    table: pd.DataFrame,
) -> pd.DataFrame:
    """Every export column present, in order, with one dtype whatever the rows (even none)."""
    n = len(frame)
    out = {}
    for column in columns:
        values = frame[column] if column in frame.columns else pd.Series([np.nan] * n)
        values = values.reset_index(drop=True)
        if column in ("invitation_id", "campaign_id"):
            values = values.astype("int64")
        elif column == "completed_at":
            values = pd.to_datetime(values).astype("datetime64[us]")
        elif column == "norm_n":
            values = values.astype("Float64").astype("Int64")
        elif column == "norm_provisional":
            values = values.astype("boolean")
        elif column in NORM_COLUMNS or column in ID_COLUMNS:
            values = values.astype("str")  # pandas' text dtype: missing stays missing
        else:
            values = values.astype("float64")
        out[column] = values
    typed = pd.DataFrame(out, columns=columns, index=pd.RangeIndex(n))
    typed["norm_kind"] = pd.Series([info.kind] * n, dtype="str")
    by_pool = dict(zip(table["pool"], table["method"], strict=True)) if len(table) else {}
    method = typed["norm_pool"].map(by_pool).fillna(info.method) if n else typed["norm_method"]
    typed["norm_method"] = method.astype("str")
    return round_scores(typed, scale_ids)


# --- Item statistics -------------------------------------------------------------------------


def item_scores(
    rows: pd.DataFrame, bank: Bank, form_id: str, language: str, *, batch: int = 1000
) -> pd.DataFrame:
    """Per person (index invitation_id), one column per item of the bank's form: the item's score
    (0..1) on its primary scale, re-scored from the stored answers; NaN where unanswered.

    ``rows`` needs invitation_id and scoring_method. Answers are read in one query per batch.
    """
    form = bank.get(form_id, language)
    item_ids = [item.id for item in form.items]
    primary = {item.id: item.scales[0] for item in form.items}
    position = {item_id: i for i, item_id in enumerate(item_ids)}
    ids = [int(i) for i in rows["invitation_id"]]
    standardized = dict(
        zip(ids, rows["scoring_method"].eq(scoring.METHOD_STANDARDIZED).tolist(), strict=True)
    )
    matrix = np.full((len(ids), len(item_ids)), np.nan)
    row_of = {invitation_id: i for i, invitation_id in enumerate(ids)}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        payloads: dict[int, dict[str, dict]] = {i: {} for i in chunk}
        answers = db.session.execute(
            sa.select(Answer.invitation_id, Answer.item_id, Answer.payload).where(
                Answer.invitation_id.in_(chunk)
            )
        )
        for invitation_id, item_id, payload in answers:
            payloads[invitation_id][item_id] = payload
        for invitation_id, answered in payloads.items():
            attempt = scoring.score_attempt(
                form,
                results.valid_responses(form, answered),
                standardize_ratings=standardized[invitation_id],
            )
            r = row_of[invitation_id]
            for item_id, per_scale in attempt.items.items():
                matrix[r, position[item_id]] = per_scale[primary[item_id]]
    return pd.DataFrame(matrix, columns=item_ids, index=pd.Index(ids, name="invitation_id"))


ITEM_COLUMNS = list(ITEM_HEADERS)
RELIABILITY_COLUMNS = list(RELIABILITY_HEADERS)


def item_tables(rows: pd.DataFrame, bank: Bank) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item statistics and reliability per form and language of ``rows``.

    ``rows``: invitation_id, form_id, language, scoring_method. Items are scored with the bank's
    current form (its version is in the reliability table). Returns (items, reliability) with
    ITEM_COLUMNS and RELIABILITY_COLUMNS; forms no longer in the bank are left out.
    """
    item_parts, reliability_rows = [], []
    for (form_id, language), group in rows.groupby(["form_id", "language"], sort=True):
        if (form_id, language) not in bank:
            continue
        form = bank.get(form_id, language)
        scores = item_scores(group, bank, form_id, language)
        stats = norms.item_statistics(scores).reset_index()
        stats.insert(0, "form_id", form_id)
        stats.insert(1, "language", language)
        stats.insert(3, "scale", [form.item(i).scales[0] for i in stats["item"]])
        stats.insert(4, "format", [form.item(i).format for i in stats["item"]])
        item_parts.append(stats[ITEM_COLUMNS])
        fit = norms.reliability(scores)
        reliability_rows.append(
            (form_id, language, form.version, fit.alpha, fit.ci_low, fit.ci_high, fit.n, fit.k)
        )
    items = (
        pd.concat(item_parts, ignore_index=True)
        if item_parts
        else pd.DataFrame(columns=ITEM_COLUMNS)
    )
    return items, pd.DataFrame(reliability_rows, columns=RELIABILITY_COLUMNS)


# --- CSV -----------------------------------------------------------------------------------


def csv_chunks(
    frame: pd.DataFrame, *, sep: str = ",", bom: bool = True, chunk_rows: int = 5000
) -> Iterator[bytes]:
    """The frame as CSV, UTF-8 (with a BOM when asked, for Excel), ``chunk_rows`` rows a chunk.

    The header comes once, in the first chunk; text is neutralized chunk by chunk, so a large
    export starts streaming at once and never exists twice in memory. A wrong ``sep`` raises
    ValueError here, before anything is streamed.
    """
    if sep not in SEPARATORS:
        raise ValueError(f"sep must be one of {SEPARATORS!r}")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    return _csv_chunks(frame, sep, bom, chunk_rows)


def _csv_chunks(frame: pd.DataFrame, sep: str, bom: bool, chunk_rows: int) -> Iterator[bytes]:
    options = {"sep": sep, "index": False, "lineterminator": "\r\n", "date_format": DATE_FORMAT}
    header = frame.iloc[:0].to_csv(**options)
    yield ((BOM if bom else "") + header).encode("utf-8")
    for start in range(0, len(frame), chunk_rows):
        part = neutralized_frame(frame.iloc[start : start + chunk_rows])
        yield part.to_csv(header=False, **options).encode("utf-8")


# --- XLSX ----------------------------------------------------------------------------------

EXCEL_MAX_ROWS = 1_048_576  # header included
_EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "us")
_DAY = np.timedelta64(86_400_000_000, "us")


class _Formats:
    def __init__(self, workbook: xlsxwriter.Workbook):
        self.header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True})
        self.title = workbook.add_format({"bold": True, "font_size": 12})
        self.when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.flag = workbook.add_format(
            {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}
        )
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})


def _cell_values(column: pd.Series) -> tuple[str, list]:
    """(kind, the column's values as Python objects with None for missing) for writing."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return "bool", column.astype("object").where(column.notna(), None).tolist()
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        stamps = column.to_numpy(dtype="datetime64[us]")
        serial = ((stamps - _EXCEL_EPOCH) / _DAY).astype(object)
        serial[np.isnat(stamps)] = None
        return "date", serial.tolist()
    if pd.api.types.is_numeric_dtype(column.dtype):
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        values = numbers.astype(object)
        values[np.isnan(numbers)] = None
        return "number", values.tolist()
    text = _neutralized(column if _is_text(column) else column.astype("str"))
    # An empty text is an empty cell, like a missing one.
    return "text", text.where(text != "").to_numpy(dtype=object, na_value=None).tolist()


def _width(column: pd.Series, name: str) -> float:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return 19
    if _is_text(column) and len(column):
        longest = column.str.len().max()
        return float(min(max(len(name), 0 if pd.isna(longest) else longest) + 2, 60))
    return float(max(len(name), 6) + 2)


def _write_candidates(
    worksheet, frame: pd.DataFrame, formats: _Formats, chunk_rows: int = 5000
) -> None:
    columns = list(frame.columns)
    for c, name in enumerate(columns):
        worksheet.set_column(c, c, _width(frame[name], name))
        worksheet.write_string(0, c, name, formats.header)
    worksheet.freeze_panes(1, 0)
    if columns:
        worksheet.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        kinds, values = zip(*(_cell_values(part[c]) for c in columns), strict=True)
        writers = [
            {
                "number": worksheet.write_number,
                "text": worksheet.write_string,
                "date": worksheet.write_number,
                "bool": worksheet.write_boolean,
            }[kind]
            for kind in kinds
        ]
        cell_formats = [formats.when if kind == "date" else None for kind in kinds]
        cells = list(zip(range(len(columns)), writers, cell_formats, strict=True))
        for r, row in enumerate(zip(*values, strict=True), start=start + 1):
            for (c, write, fmt), value in zip(cells, row, strict=True):
                if value is not None:
                    write(r, c, value, fmt)


def _write_cell(worksheet, r: int, c: int, value, fmt=None) -> None:
    """One cell of the small sheets: text always as a string, numbers as numbers, NaN empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return
    if isinstance(value, (bool, np.bool_)):
        worksheet.write_string(r, c, _("oui") if value else _("non"), fmt)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        worksheet.write_number(r, c, float(value), fmt)
    elif isinstance(value, datetime):
        worksheet.write_string(r, c, value.strftime(DATE_FORMAT) + " UTC", fmt)
    else:
        worksheet.write_string(r, c, str(neutralize(str(value))), fmt)


def _write_table(
    worksheet,
    first_row: int,
    headers: Sequence[str],
    rows,
    formats: _Formats,
    cell_formats: Sequence | None = None,
) -> int:
    """Header and rows from ``first_row``; returns the next free row."""
    for c, name in enumerate(headers):
        worksheet.write_string(first_row, c, str(name), formats.header)
    r = first_row
    for r, row in enumerate(rows, start=first_row + 1):
        for c, value in enumerate(row):
            fmt = cell_formats[c] if cell_formats else None
            _write_cell(worksheet, r, c, value, fmt)
    return r + 1


def _rounded(frame: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: _clean_round(frame[c], decimals) for c in floats})


def _write_scales(worksheet, context: ExportContext, formats: _Formats) -> None:
    widths = [14, 7, 12, 30, 16, 60, 8]
    for c, width in enumerate(widths):
        worksheet.set_column(c, c, width)
    worksheet.freeze_panes(1, 0)
    scales = context.scales[list(SCALE_HEADERS)].itertuples(index=False, name=None)
    _write_table(worksheet, 0, list(SCALE_HEADERS.values()), scales, formats)


def _write_norms(worksheet, context: ExportContext, formats: _Formats) -> None:
    table = _rounded(context.norm_table[list(NORM_HEADERS)])
    worksheet.set_column(0, 0, 22)
    worksheet.set_column(1, len(NORM_HEADERS) - 1, 12)
    worksheet.freeze_panes(1, 0)
    rows = table.astype(object).where(table.notna(), None).itertuples(index=False, name=None)
    _write_table(worksheet, 0, list(NORM_HEADERS.values()), rows, formats)


def _write_items(worksheet, context: ExportContext, formats: _Formats) -> None:
    worksheet.set_column(0, 0, 22)
    worksheet.set_column(1, len(ITEM_HEADERS) - 1, 14)
    if context.item_statistics is None or context.reliability is None:
        worksheet.write_string(0, 0, _("Statistiques d'items non calculées pour cet export."))
        return
    worksheet.write_string(
        0,
        0,
        _("Fidélité : alpha de Cronbach, intervalle de confiance à 95 % (Feldt)"),
        formats.title,
    )
    reliability = _rounded(context.reliability[list(RELIABILITY_HEADERS)])
    rows = reliability.astype(object).where(reliability.notna(), None)
    r = _write_table(
        worksheet,
        1,
        list(RELIABILITY_HEADERS.values()),
        rows.itertuples(index=False, name=None),
        formats,
    )
    worksheet.write_string(
        r + 1,
        0,
        _(
            "Items : corrélation item-reste corrigée (l'item contre la somme des autres "
            "items) ; une corrélation négative (OUI) signale un item qui tire contre l'échelle."
        ),
        formats.title,
    )
    stats = _rounded(context.item_statistics[list(ITEM_HEADERS)])
    header_row = r + 2
    for c, name in enumerate(ITEM_HEADERS.values()):
        worksheet.write_string(header_row, c, str(name), formats.header)
    flag_column = len(ITEM_HEADERS) - 1
    for r, row in enumerate(
        stats.astype(object).where(stats.notna(), None).itertuples(index=False, name=None),
        start=header_row + 1,
    ):
        for c, value in enumerate(row[:-1]):
            _write_cell(worksheet, r, c, value)
        if row[-1]:
            worksheet.write_string(r, flag_column, _("OUI"), formats.flag)
        else:
            worksheet.write_string(r, flag_column, _("non"))


def _write_columns(
    worksheet, frame: pd.DataFrame, context: ExportContext, formats: _Formats
) -> None:
    labels = {}
    for row in context.scales.itertuples(index=False):
        labels.setdefault(row.scale, row.label)
    worksheet.set_column(0, 0, 26)
    worksheet.set_column(1, 1, 100, formats.wrap)
    worksheet.freeze_panes(1, 0)
    _write_table(worksheet, 0, COLUMN_HEADERS, describe_columns(frame.columns, labels), formats)


def about_rows(context: ExportContext) -> list[tuple[str, str | int]]:
    """The "à propos" sheet: what the export holds and how its numbers were computed."""
    filters, info = context.filters, context.norm
    if filters.campaign_ids is None:
        chosen = _("toutes les campagnes de l'organisation")
    elif context.campaigns.empty:
        chosen = _("aucune")
    else:
        chosen = " ; ".join(
            _("%(title)s (n° %(id)s)", title=neutralize(title), id=cid)
            for cid, title in context.campaigns[["campaign_id", "campaign"]].itertuples(index=False)
        )
    start = filters.date_from.isoformat() if filters.date_from else _("le début")
    end = filters.date_to.isoformat() if filters.date_to else _("aujourd'hui")
    period = (
        _("toutes les dates")
        if not (filters.date_from or filters.date_to)
        else _("du %(start)s au %(end)s inclus", start=start, end=end)
    )
    versions = " ; ".join(
        _(
            "%(form)s (%(language)s) version %(version)s : %(n)s test(s)",
            form=r.form_id,
            language=r.language,
            version=r.form_version,
            n=r.n,
        )
        for r in context.form_versions.itertuples(index=False)
    ) or _("aucune")
    kind = str(NORM_KINDS.get(info.kind, info.kind))
    if info.n is not None:
        kind += f", n = {info.n}"
    if info.built_at is not None:
        norm_date = _("établie le %(when)s UTC", when=info.built_at.strftime(DATE_FORMAT))
    else:
        norm_date = _("calculée au moment de l'export, sur toutes les dates des campagnes choisies")
    return [
        (_("Organisation"), context.organisation),
        (_("Exporté le"), context.exported_at.strftime(DATE_FORMAT) + " UTC"),
        (_("Campagnes"), chosen),
        (_("Période (date de fin du test, UTC)"), period),
        (_("Lignes (candidats)"), context.rows),
        (_("Versions du questionnaire"), versions),
        (_("Méthode(s) de cotation"), " ; ".join(context.scoring_methods) or _("aucune")),
        (_("Norme"), f"{info.kind} : {kind}"),
        (_("Date de la norme"), norm_date),
        (_("Méthode de normalisation"), str(NORM_METHODS.get(info.method, info.method))),
        (
            _("Petits groupes"),
            _(
                "moins de %(n)s personnes : norme provisoire, rapprochée de l'ensemble, "
                "percentile lu sur la courbe normale (voir la feuille normes)",
                n=filters.min_pool,
            ),
        ),
        (
            _("Fichiers"),
            _(
                "les colonnes sont décrites dans la feuille colonnes ; dans le CSV, le "
                "séparateur décimal est le point, les dates sont en UTC, une case vide est une "
                "valeur manquante"
            ),
        ),
        (
            _("Sécurité"),
            _(
                "un texte commençant par =, +, -, @ ou une tabulation est précédé d'une "
                "apostrophe pour qu'aucun tableur ne l'exécute comme une formule"
            ),
        ),
        (_("À retenir"), str(NOTE)),
    ]


def write_xlsx(
    frame: pd.DataFrame, context: ExportContext, target, *, chunk_rows: int = 5000
) -> None:
    """The export as an XLSX workbook into ``target`` (a path or a binary file object).

    Sheets (SHEETS): candidats (the frame), échelles, normes, items, colonnes, à propos — or
    their English names when the request is in English.
    xlsxwriter's constant_memory mode streams each row to a temporary file as it is written,
    so the workbook never sits in memory; text is neutralized and written as strings only.
    """
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        # xlsxwriter would silently drop the rows beyond the sheet's last one.
        raise ValueError(f"a sheet holds {EXCEL_MAX_ROWS - 1:,} rows at most: use the CSV export")
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    with xlsxwriter.Workbook(target, options) as workbook:
        formats = _Formats(workbook)
        sheets = {key: str(name) for key, name in SHEETS.items()}
        _write_candidates(workbook.add_worksheet(sheets["candidates"]), frame, formats, chunk_rows)
        _write_scales(workbook.add_worksheet(sheets["scales"]), context, formats)
        _write_norms(workbook.add_worksheet(sheets["norms"]), context, formats)
        _write_items(workbook.add_worksheet(sheets["items"]), context, formats)
        _write_columns(workbook.add_worksheet(sheets["columns"]), frame, context, formats)
        about = workbook.add_worksheet(sheets["about"])
        about.set_column(0, 0, 34)
        about.set_column(1, 1, 110, formats.wrap)
        _write_table(about, 0, ABOUT_HEADERS, about_rows(context), formats)


def file_chunks(file, size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a finished export file from its start, then close it (for a streamed response)."""
    try:
        file.seek(0)
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def xlsx_stream(frame: pd.DataFrame, context: ExportContext) -> Iterator[bytes]:
    """Write the workbook to a temporary file (rows go to disk as they are written) and stream
    it; the file is removed once sent."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - closed by file_chunks
    try:
        write_xlsx(frame, context, target)
    except BaseException:
        target.close()
        raise
    return file_chunks(target)
