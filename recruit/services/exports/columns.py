"""The export's columns: their names and order, what each means, and how each is rounded.

The columns that say which test a row is and who took it come from recruit.data.frames (where
each is read from the database); the score columns are one block per scale id; the norm columns
close the row. The tables of the workbook's other sheets have their columns here too, each with
its header in the request's language.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.core import norms
from recruit.data import frames

COMPOSITE = frames.COMPOSITE
# Decimals kept for each kind of score column ("" is the raw score); sten and stanine are whole.
DECIMALS = {"": 2, "z": 3, "t": 1, "pct": 1}
# The invitation id (frames' key), who took the test, then the rest of what the test was.
ID_COLUMNS = [*frames.TEST_COLUMNS[:1], *frames.PERSON_COLUMNS, *frames.TEST_COLUMNS[1:]]
NORM_COLUMNS = ["norm_kind", "norm_pool", "norm_n", "norm_provisional", "norm_method"]
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
SCALE = "<scale>"  # stands for the composite and every scale id in COLUMNS

# What each column means (the "colonnes" sheet), in the order of the columns.
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
            "Méthode de cotation des réponses : pomp-v2 (proportion du maximum possible, "
            "clés graduées, notes standardisées par personne) ; pomp-v1 pour les résultats "
            "antérieurs non recotés."
        ),
    ),
    (
        "flags",
        _l(
            "Points à vérifier avant de se fier au score (vide si aucun) : uniform_ratings = "
            "réponses uniformes aux items à noter, indice calculé sans ces items."
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

# The tables of the other sheets: each column (in order) and its header.
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
ITEM_COLUMNS = list(ITEM_HEADERS)
RELIABILITY_COLUMNS = list(RELIABILITY_HEADERS)


def export_columns(scale_ids: Sequence[str]) -> list[str]:
    """The columns of an export, in order, for the composite and scales ``scale_ids``."""
    scores = [f"{s}{'_' + d if d else ''}" for s in scale_ids for d in ("", *norms.DERIVED)]
    return [*ID_COLUMNS, *scores, *NORM_COLUMNS]


def clean_round(values: pd.Series, decimals: int) -> pd.Series:
    """``values`` as float64 rounded to ``decimals``, never -0.0."""
    # + 0.0 turns the -0.0 that rounding a small negative number gives into 0.0.
    return values.astype("float64").round(decimals) + 0.0


def round_scores(frame: pd.DataFrame, scale_ids: Sequence[str]) -> pd.DataFrame:
    """Raw scores to 2 decimals, z to 3, T and percentile to 1, sten and stanine whole (Int64)."""
    rounded = {}
    for scale in scale_ids:
        for suffix, decimals in DECIMALS.items():
            name = f"{scale}_{suffix}" if suffix else scale
            rounded[name] = clean_round(frame[name], decimals)
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
        if suffix not in norms.DERIVED:
            scale, suffix = column, ""
        generic = f"{SCALE}_{suffix}" if suffix else (COMPOSITE if scale == COMPOSITE else SCALE)
        meaning = str(_MEANINGS.get(generic, ""))
        if scale == COMPOSITE and suffix:
            meaning = _("Indice d'orientation service.") + f" {meaning}"
        elif scale != COMPOSITE:
            meaning = f"{labels.get(scale, scale)}. {meaning}"
        described.append((column, meaning))
    return described
