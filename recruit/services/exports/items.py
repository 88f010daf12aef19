"""Item statistics of an export: the stored item scores, then reliability per form.

``item_scores`` reads the item scores of some tests as stored when they were scored;
``item_tables`` gives the workbook's "items" sheet: item statistics and Cronbach's alpha per
form and language.
"""

from __future__ import annotations

import pandas as pd

from recruit.core import norms
from recruit.core.bank import Bank
from recruit.services import itemstats
from recruit.services.exports.columns import ITEM_COLUMNS, RELIABILITY_COLUMNS


def item_scores(rows: pd.DataFrame, bank: Bank, form_id: str, language: str) -> pd.DataFrame:
    """Per person (index invitation_id), one column per item of the bank's form: the item's score
    (0..1) on its scale as stored when the test was scored (itemstats.item_matrix); NaN where
    unanswered, answered when the item read otherwise (an earlier bank version), or left
    unscored (the ratings of a flat rater under pomp-v2). ``rows`` needs invitation_id."""
    return itemstats.item_matrix(bank, form_id, language, rows["invitation_id"].tolist())


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
        stats.insert(3, "scale", [form.item(i).scale for i in stats["item"]])
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
