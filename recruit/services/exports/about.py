"""The workbook's "à propos" sheet: what an export holds and how its numbers were computed."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from recruit.services import results
from recruit.services.exports.columns import DATE_FORMAT
from recruit.services.exports.formulas import neutralize
from recruit.services.exports.frame import ExportContext

NOTE = _l(
    "Le test est un élément d'appréciation parmi d'autres : il éclaire une décision, il ne la "
    "prend pas. Aucune candidature ne doit être écartée sur ce seul résultat."
)
NORM_METHODS = {
    "standard": _l("standard : moyenne et écart-type"),
    "robust": _l("robuste : médiane et 1,4826 x écart absolu médian"),
}


def _chosen_campaigns(context: ExportContext) -> str:
    if context.filters.campaign_ids is None:
        return _("toutes les campagnes de l'organisation")
    if context.campaigns.empty:
        return _("aucune")
    return " ; ".join(
        _("%(title)s (n° %(id)s)", title=neutralize(title), id=cid)
        for cid, title in context.campaigns[["campaign_id", "campaign"]].itertuples(index=False)
    )


def _period(context: ExportContext) -> str:
    filters = context.filters
    start = filters.date_from.isoformat() if filters.date_from else _("le début")
    end = filters.date_to.isoformat() if filters.date_to else _("aujourd'hui")
    if not (filters.date_from or filters.date_to):
        return _("toutes les dates")
    return _("du %(start)s au %(end)s inclus", start=start, end=end)


def _versions(context: ExportContext) -> str:
    return " ; ".join(
        _(
            "%(form)s (%(language)s) version %(version)s : %(n)s test(s)",
            form=r.form_id,
            language=r.language,
            version=r.form_version,
            n=r.n,
        )
        for r in context.form_versions.itertuples(index=False)
    ) or _("aucune")


def _norm(context: ExportContext) -> tuple[str, str]:
    """(the norm: its kind and what it is; when it was made)."""
    info = context.norm
    kind = str(results.NORM_DESCRIPTIONS.get(info.kind, info.kind))
    if info.n is not None:
        kind += f", n = {info.n}"
    if info.built_at is not None:
        norm_date = _("établie le %(when)s UTC", when=info.built_at.strftime(DATE_FORMAT))
    else:
        norm_date = _("calculée au moment de l'export, sur toutes les dates des campagnes choisies")
    return f"{info.kind} : {kind}", norm_date


def about_rows(context: ExportContext) -> list[tuple[str, str | int]]:
    """The "à propos" sheet: what the export holds and how its numbers were computed."""
    norm, norm_date = _norm(context)
    method = context.norm.method
    return [
        (_("Organisation"), context.organisation),
        (_("Exporté le"), context.exported_at.strftime(DATE_FORMAT) + " UTC"),
        (_("Campagnes"), _chosen_campaigns(context)),
        (_("Période (date de fin du test, UTC)"), _period(context)),
        (_("Lignes (candidats)"), context.rows),
        (_("Versions du questionnaire"), _versions(context)),
        (_("Méthode(s) de cotation"), " ; ".join(context.scoring_methods) or _("aucune")),
        (_("Norme"), norm),
        (_("Date de la norme"), norm_date),
        (_("Méthode de normalisation"), str(NORM_METHODS.get(method, method))),
        (
            _("Petits groupes"),
            _(
                "moins de %(n)s personnes : norme provisoire, rapprochée de l'ensemble, "
                "percentile lu sur la courbe normale (voir la feuille normes)",
                n=context.filters.min_pool,
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
