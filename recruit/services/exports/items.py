"""Item statistics of an export: every answer re-scored per item, then reliability per form.

``item_scores`` re-scores the stored answers of some tests item by item (the HR dashboard's
form quality uses it too); ``item_tables`` gives the workbook's "items" sheet: item statistics
and Cronbach's alpha per form and language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from recruit.core import norms, scoring
from recruit.core.bank import Bank
from recruit.data.models import Answer
from recruit.extensions import db
from recruit.services import results
from recruit.services.exports.columns import ITEM_COLUMNS, RELIABILITY_COLUMNS


def item_scores(
    rows: pd.DataFrame, bank: Bank, form_id: str, language: str, *, batch: int = 1000
) -> pd.DataFrame:
    """Per person (index invitation_id), one column per item of the bank's form: the item's score
    (0..1) on its scale, re-scored from the stored answers with the result's own scoring method;
    NaN where unanswered, answered when the item read otherwise (an earlier bank version), or
    left unscored (the ratings of a flat rater under pomp-v2).

    ``rows`` needs invitation_id and scoring_method. Answers are read in one query per batch.
    """
    form = bank.get(form_id, language)
    item_ids = [item.id for item in form.items]
    position = {item_id: i for i, item_id in enumerate(item_ids)}
    ids = [int(i) for i in rows["invitation_id"]]
    methods = dict(zip(ids, rows["scoring_method"].tolist(), strict=True))
    matrix = np.full((len(ids), len(item_ids)), np.nan)
    row_of = {invitation_id: i for i, invitation_id in enumerate(ids)}
    stored = results.StoredVersions(bank, form_id)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        payloads: dict[int, dict[str, dict]] = {i: {} for i in chunk}
        answers = db.session.execute(
            sa.select(
                Answer.invitation_id, Answer.item_id, Answer.payload, Answer.form_version
            ).where(Answer.invitation_id.in_(chunk))
        )
        for invitation_id, item_id, payload, version in answers:
            if stored.reads_as_now(form, item_id, version):
                payloads[invitation_id][item_id] = payload
        for invitation_id, answered in payloads.items():
            attempt = scoring.score_attempt(
                form,
                results.valid_responses(form, answered),
                method=_known(methods[invitation_id]),
            )
            r = row_of[invitation_id]
            for item_id, value in attempt.items.items():
                matrix[r, position[item_id]] = value
    return pd.DataFrame(matrix, columns=item_ids, index=pd.Index(ids, name="invitation_id"))


def _known(method: object) -> str:
    """The stored method if this code still computes it, else the current one."""
    return method if method in scoring.METHODS else scoring.METHOD


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
