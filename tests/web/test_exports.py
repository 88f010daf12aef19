"""Exports: the frame, the streamed CSV and the XLSX workbook, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import math
import random
import zipfile
from datetime import date, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from recruit.core import norms
from recruit.data import frames, questions
from recruit.data.models import Candidate, Invitation, Organisation
from recruit.extensions import db
from recruit.services import exports, results
from tests.conftest import complete_invitation, make_invitation, random_responses

SCALES = ["composite", "plaisir", "ecoute"]  # the mini bank's composite and scales
DANGEROUS = ['=HYPERLINK("http://x","y")', "+33 6 12", "-1", "@SUM(A1)", "\tTab", "\rCR"]
ODD = ['Dupont; "Jo", Jr', "Élodie Ñúñez"]  # separators, quotes and accents survive the trip
# Decimals each kind of column is rounded to in an export.
TOLERANCE = {"": 0.005, "z": 0.0005, "t": 0.05, "pct": 0.05}
SHEET_HEADERS = {
    "échelles": ["questionnaire", "langue", "échelle", "libellé", "libellé court"],
    "normes": ["groupe", "échelle", "n", "moyenne", "écart-type", "médiane"],
    "colonnes": ["colonne", "signification"],
    "à propos": ["rubrique", "valeur"],
}


def org_id(app, name="Acme") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))


def populate(app, seed=11) -> int:
    """Lyon (fr, 7 people) and Paris (en, 5 people) completed, one pending link, and another
    organisation; completion dates 2026-03-01 + k; returns Acme's id."""
    rng = random.Random(seed)
    bank = questions.bank(app)
    names = DANGEROUS + ODD + [f"Personne {i}" for i in range(4)]
    for i, name in enumerate(names):
        campaign, lang = ("Lyon", "fr") if i < 7 else ("Paris", "en")
        token = make_invitation(
            app, campaign=campaign, lang=lang, name=name, email=f"p{i}@example.org"
        )
        complete_invitation(app, token, random_responses(bank.get("mini", lang), rng))
    make_invitation(app, campaign="Lyon", name="Pas fini", email="pending@example.org")
    for i in range(2):
        token = make_invitation(app, org="Other", campaign="Lyon", email=f"o{i}@example.org")
        complete_invitation(app, token, random_responses(bank.get("mini", "fr"), rng))
    organisation = org_id(app)
    with app.app_context():
        completed = db.session.scalars(
            sa.select(Invitation.id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .where(Candidate.organisation_id == organisation, Invitation.status == "completed")
            .order_by(Invitation.id)
        ).all()
        for k, invitation_id in enumerate(completed):
            when = datetime(2026, 3, 1 + k, 9, 30)
            if k == 4:  # the last minutes of an inclusive end date
                when = datetime(2026, 3, 5, 23, 59, 30)
            db.session.execute(
                sa.update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(completed_at=when)
            )
        for email, external in [("p0@example.org", "=1+1"), ("p7@example.org", "ATS-7")]:
            db.session.execute(
                sa.update(Candidate).where(Candidate.email == email).values(external_id=external)
            )
        db.session.commit()
    return organisation


def expected_scores(app, organisation, campaign_ids=None, *, pool="campaign_id", **kw):
    """Raw and normalized scores computed straight from frames.scores and norms.normalize."""
    with app.app_context():
        scores = frames.scores(organisation, campaign_ids)
    if pool == "all":
        scores = scores.assign(all="all")
    normalized = norms.normalize(scores, pool=pool, scales=SCALES, **kw)
    return pd.concat([scores, normalized], axis=1).set_index("invitation_id")


def assert_scores_match(
    exported: pd.DataFrame, expected: pd.DataFrame, rows: int | None = None
) -> None:
    """Each exported row has the scores of its ``expected`` row. The export holds every row of
    ``expected``, or exactly ``rows`` of them when it is a subset (a date range, a campaign
    normed with others); an empty export never passes."""
    wanted = len(expected) if rows is None else rows
    assert wanted > 0, "nothing to compare: the check would prove nothing"
    assert len(exported) == wanted, f"{len(exported)} rows exported, {wanted} expected"
    exported = exported.set_index("invitation_id")
    assert exported.index.is_unique, "an invitation is exported twice"
    assert set(exported.index) <= set(expected.index)
    expected = expected.loc[exported.index]
    for scale in SCALES:
        for suffix, tolerance in TOLERANCE.items():
            name = f"{scale}_{suffix}" if suffix else scale
            np.testing.assert_allclose(
                exported[name].astype(float),
                expected[name].astype(float),
                atol=tolerance + 1e-9,
                rtol=0,
                err_msg=name,
            )
        for suffix in ("sten", "stanine"):
            name = f"{scale}_{suffix}"
            assert exported[name].astype(float).tolist() == expected[name].tolist(), name
    assert exported["norm_n"].astype(int).tolist() == expected["norm_n"].astype(int).tolist()
    assert exported["norm_provisional"].astype(bool).tolist() == (
        expected["norm_provisional"].astype(bool).tolist()
    )


def test_assert_scores_match_fails_on_an_empty_or_a_short_export():
    columns = ["invitation_id", *SCALES]
    for scale in SCALES:
        columns += [f"{scale}_{s}" for s in ("z", "t", "pct", "sten", "stanine")]
    columns += ["norm_n", "norm_provisional"]
    expected = pd.DataFrame([[1] + [50.0] * (len(columns) - 3) + [2, True]], columns=columns)
    expected = pd.concat([expected, expected.assign(invitation_id=2)], ignore_index=True)
    expected = expected.set_index("invitation_id")
    exported = expected.reset_index()
    assert_scores_match(exported, expected)  # the same rows: it passes
    for short in (exported.iloc[:0], exported.iloc[:1]):
        with pytest.raises(AssertionError):
            assert_scores_match(short, expected)
    with pytest.raises(AssertionError):
        assert_scores_match(exported.iloc[:0], expected.iloc[:0])
    with pytest.raises(AssertionError):
        assert_scores_match(exported.iloc[:0], expected, rows=0)


def read_csv(data: bytes, sep: str) -> pd.DataFrame:
    text_columns = dict.fromkeys(
        ["external_id", "candidate_name", "candidate_email", "campaign", "site"], str
    )
    return pd.read_csv(
        io.BytesIO(data), sep=sep, encoding="utf-8-sig", dtype=text_columns, keep_default_na=False
    ).replace({"": np.nan})


def workbook_bytes(frame, context) -> bytes:
    target = io.BytesIO()
    exports.write_xlsx(frame, context, target)
    return target.getvalue()


def test_csv_round_trips_with_both_separators_with_and_without_bom(app):
    organisation = populate(app)
    expected = expected_scores(app, organisation)
    with app.app_context():
        frame, context = exports.export_frame(organisation)
    assert context.rows == len(frame) == 12 and context.organisation == "Acme"
    assert list(frame.columns) == exports.export_columns(SCALES)
    for sep in (",", ";"):
        for bom in (True, False):
            chunks = list(exports.csv_chunks(frame, sep=sep, bom=bom, chunk_rows=5))
            assert len(chunks) == 1 + 3  # the header, then 5 + 5 + 2 rows
            data = b"".join(chunks)
            assert data.startswith(b"\xef\xbb\xbf") == bom
            text = data.decode("utf-8-sig")
            assert text.count("invitation_id") == 1 and text.endswith("\r\n")
            back = read_csv(data, sep)
            assert list(back.columns) == list(frame.columns)
            assert back["invitation_id"].tolist() == frame["invitation_id"].tolist()
            assert_scores_match(back, expected)
            assert set(ODD) <= set(back["candidate_name"])
            assert back["completed_at"].iloc[0] == "2026-03-01 09:30:00"
            assert back["norm_kind"].eq("campaign").all()
            assert back["norm_method"].eq("standard").all()
            assert set(back["campaign"]) == {"Lyon", "Paris"}


def test_frame_rounds_and_keeps_missing_values_empty(app):
    organisation = populate(app)
    with app.app_context():
        frame, _ = exports.export_frame(organisation)
    for scale in SCALES:
        for suffix, decimals in exports.DECIMALS.items():
            values = frame[f"{scale}_{suffix}" if suffix else scale]
            np.testing.assert_array_equal(values, values.round(decimals))
    assert str(frame["composite_sten"].dtype) == "Int64"
    frame.loc[0, "plaisir_z"] = np.nan
    back = read_csv(b"".join(exports.csv_chunks(frame)), ",")
    assert pd.isna(back.loc[0, "plaisir_z"]) and pd.isna(back.loc[1, "external_id"])


def test_xlsx_has_every_sheet_with_its_headers_and_the_same_numbers(app, tmp_path):
    organisation = populate(app)
    expected = expected_scores(app, organisation)
    with app.app_context():
        frame, context = exports.export_frame(organisation)
    path = tmp_path / "export.xlsx"
    exports.write_xlsx(frame, context, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(exports.SHEETS.values())
    assert all(len(name) <= 31 for name in book.sheetnames)
    candidates = book["candidats"]
    assert [c.value for c in candidates[1]] == list(frame.columns)
    assert all(c.font.b for c in candidates[1]) and candidates.freeze_panes == "A2"
    assert candidates.max_row == len(frame) + 1
    for sheet, headers in SHEET_HEADERS.items():
        assert [c.value for c in book[sheet][1]][: len(headers)] == headers, sheet
    back = pd.read_excel(path, sheet_name="candidats")
    assert_scores_match(back, expected)
    assert back["completed_at"].iloc[0] == pd.Timestamp("2026-03-01 09:30:00")
    # The scales of both languages, the norm table of the pools used, every column described.
    scales = pd.read_excel(path, sheet_name="échelles")
    assert set(zip(scales["langue"], scales["échelle"], strict=True)) == {
        (lang, s) for lang in ("fr", "en") for s in ("plaisir", "ecoute")
    }
    table = pd.read_excel(path, sheet_name="normes")
    assert len(table) == 2 * len(SCALES)
    lyon = table[(table["groupe"] == frame["norm_pool"].iloc[0]) & (table["échelle"] == "plaisir")]
    lyon_scores = expected[expected["campaign"] == "Lyon"]["plaisir"]
    assert lyon["n"].item() == 7
    assert lyon["moyenne"].item() == pytest.approx(lyon_scores.mean(), abs=5e-4)
    assert lyon["écart-type"].item() == pytest.approx(lyon_scores.std(), abs=5e-4)
    described = pd.read_excel(path, sheet_name="colonnes")
    assert described["colonne"].tolist() == list(frame.columns)
    assert described["signification"].notna().all()
    about = dict((row[0].value, row[1].value) for row in book["à propos"].iter_rows(min_row=2))
    assert about["Organisation"] == "Acme" and about["Lignes (candidats)"] == 12
    assert "version" in about["Versions du questionnaire"]
    assert about["Méthode(s) de cotation"] == "pomp-v2"
    assert about["Norme"].startswith("campaign")
    assert "parmi d'autres" in about["À retenir"]
    items = [[c.value for c in row] for row in book["items"].iter_rows()]
    assert items[2][:2] == ["mini", "en"] and items[3][:2] == ["mini", "fr"]
    assert "corrélation item-reste" in next(r for r in items if r[2] == "item")


def test_dangerous_text_is_quoted_in_csv_and_never_a_formula_in_xlsx(app, tmp_path):
    organisation = populate(app)
    with app.app_context():
        frame, context = exports.export_frame(organisation)
    assert set(DANGEROUS) <= set(frame["candidate_name"])  # the frame keeps the data as stored
    back = read_csv(b"".join(exports.csv_chunks(frame, sep=";")), ";")
    quoted = {"'" + name for name in DANGEROUS}
    assert quoted <= set(back["candidate_name"])
    assert "'=1+1" in set(back["external_id"]) and "ATS-7" in set(back["external_id"])
    path = tmp_path / "export.xlsx"
    exports.write_xlsx(frame, context, path)
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    # xlsxwriter stores a carriage return as the escape _x000D_, which Excel reads back as the
    # character and openpyxl leaves as it is.
    names = [c.value.replace("_x000D_", "\r") for c in book["candidats"]["C"][1:]]
    assert quoted <= set(names)
    assert all(not str(n).startswith(exports.DANGEROUS_STARTS) for n in names)
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Dupont", "Dupont"),
        ("a=b", "a=b"),
        ("", ""),
        (-1, -1),
        (None, None),
    ],
)
def test_neutralize(value, expected):
    assert exports.neutralize(value) == expected


def test_campaign_subset_changes_rows_and_the_pooled_norm(app):
    organisation = populate(app)
    with app.app_context():
        full, _ = exports.export_frame(organisation, items=False)
        lyon_id = int(full.loc[full["campaign"] == "Lyon", "campaign_id"].iloc[0])
        lyon, context = exports.export_frame(
            organisation, exports.ExportFilters(campaign_ids=(lyon_id,)), items=False
        )
        pooled, pooled_context = exports.export_frame(
            organisation,
            exports.ExportFilters(campaign_ids=(lyon_id,), norm="pooled", min_pool=2),
            items=False,
        )
        everyone, _ = exports.export_frame(
            organisation, exports.ExportFilters(norm="pooled", min_pool=2), items=False
        )
        large, _ = exports.export_frame(
            organisation, exports.ExportFilters(campaign_ids=(lyon_id,), min_pool=2), items=False
        )
    assert len(lyon) == 7 and set(lyon["campaign"]) == {"Lyon"}
    assert context.campaigns["campaign"].tolist() == ["Lyon"]
    assert context.item_statistics is None
    # Campaign norm: a small (provisional) campaign is shrunk toward every chosen campaign
    # together, so the choice matters; a campaign large enough is its own pool whatever else
    # is chosen.
    assert_scores_match(lyon, expected_scores(app, organisation, [lyon_id]))
    assert lyon["norm_provisional"].all()
    assert_scores_match(large, expected_scores(app, organisation, min_pool=2), rows=7)
    assert not large["norm_provisional"].any()
    # Pooled: the chosen campaigns only, here with rank percentiles (pools of 2 or more).
    assert_scores_match(
        pooled, expected_scores(app, organisation, [lyon_id], pool="all", min_pool=2)
    )
    assert_scores_match(everyone, expected_scores(app, organisation, pool="all", min_pool=2))
    assert pooled_context.norm.n == 7 and pooled["norm_pool"].eq("pooled").all()
    assert not np.allclose(
        pooled["composite_z"],
        everyone.set_index("invitation_id").loc[pooled["invitation_id"], "composite_z"],
    )


def test_date_range_is_inclusive_and_keeps_the_campaign_norm(app):
    organisation = populate(app)
    with app.app_context():
        full, _ = exports.export_frame(organisation, items=False)
        window, context = exports.export_frame(
            organisation,
            exports.ExportFilters(date_from=date(2026, 3, 3), date_to=date(2026, 3, 5)),
        )
        later, _ = exports.export_frame(
            organisation, exports.ExportFilters(date_from=date(2026, 3, 10)), items=False
        )
        nothing, _ = exports.export_frame(
            organisation, exports.ExportFilters(date_to=date(2026, 2, 28)), items=False
        )
    days = window["completed_at"].dt.day.tolist()
    assert days == [3, 4, 5] and window["completed_at"].iloc[-1].hour == 23
    assert context.rows == 3 and context.reliability["n"].sum() == 3
    assert window["candidate_name"].notna().all()
    assert later["completed_at"].dt.day.tolist() == [10, 11, 12] and nothing.empty
    # The rows are a subset; their scores are those of the whole campaign.
    assert_scores_match(window, expected_scores(app, organisation), rows=3)
    assert_scores_match(later, expected_scores(app, organisation), rows=3)
    about = dict(exports.about_rows(context))
    assert about["Période (date de fin du test, UTC)"] == "du 2026-03-03 au 2026-03-05 inclus"


# One answer per person to each mini item, and each item's score worked out by hand from the
# mini bank's keys (tests/data/questions/mini.fr.yaml), scoring pomp-v2:
# m1 most_least on plaisir (keys a6 b1 c3 d4): (k(most) - k(least) + 5) / 10; m2 rating on
# ecoute (keys a6 b2 c1 d5): ratings z-scored and mapped onto the keys' mean and SD, then
# 1 - mean |mapped - key| / 5; m3 choice on plaisir (keys a6 b2 c4): (key - 2) / 4.
M2_KEYS = {"a": 6, "b": 2, "c": 1, "d": 5}


def _m2_by_hand(ratings: dict) -> float:
    def mean_sd(values):
        mean = sum(values) / len(values)
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))

    r_mean, r_sd = mean_sd(list(ratings.values()))
    k_mean, k_sd = mean_sd(list(M2_KEYS.values()))
    mapped = {o: k_mean + k_sd * (r - r_mean) / r_sd for o, r in ratings.items()}
    return 1 - sum(abs(mapped[o] - k) for o, k in M2_KEYS.items()) / 4 / 5


TINY = [
    (m1, m2, m3, [m1_score, _m2_by_hand(m2), m3_score])
    for m1, m2, m3, m1_score, m3_score in [
        ({"best": "a", "worst": "b"}, {"a": 6, "b": 3, "c": 1, "d": 3}, "a", 1.0, 1.0),
        ({"best": "a", "worst": "c"}, {"a": 4, "b": 2, "c": 3, "d": 3}, "c", 0.8, 0.5),
        ({"best": "d", "worst": "a"}, {"a": 5, "b": 2, "c": 1, "d": 5}, "b", 0.3, 0.0),
        ({"best": "b", "worst": "a"}, {"a": 5, "b": 3, "c": 2, "d": 4}, "c", 0.0, 0.5),
    ]
]


def test_item_statistics_match_a_direct_computation(app):
    for i, (m1, m2, m3, _) in enumerate(TINY):
        token = make_invitation(app, org="Tiny", campaign="Nice", email=f"t{i}@example.org")
        complete_invitation(app, token, {"m1": m1, "m2": {"ratings": m2}, "m3": {"choice": m3}})
    with app.app_context():
        frame, context = exports.export_frame(org_id(app, "Tiny"))
    scores = np.array([expected for *_, expected in TINY])
    n, k = scores.shape
    totals = scores.sum(axis=1)
    alpha = k / (k - 1) * (1 - scores.var(axis=0, ddof=1).sum() / totals.var(ddof=1))
    rest_r = [np.corrcoef(scores[:, j], totals - scores[:, j])[0, 1] for j in range(k)]
    stats = context.item_statistics.set_index("item")
    assert stats["scale"].tolist() == ["plaisir", "ecoute", "plaisir"]
    np.testing.assert_allclose(stats["mean"], scores.mean(axis=0))
    np.testing.assert_allclose(stats["sd"], scores.std(axis=0, ddof=1))
    np.testing.assert_allclose(stats["item_rest_r"], rest_r)
    assert stats["negative"].tolist() == [r < 0 for r in rest_r]
    reliability = context.reliability.iloc[0]
    assert (reliability["n"], reliability["k"]) == (n, k)
    assert reliability["alpha"] == pytest.approx(alpha)
    assert reliability["ci_low"] < reliability["alpha"] < reliability["ci_high"]
    # The workbook shows the same numbers and flags the negative item.
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(frame, context)))
    rows = [[c.value for c in row] for row in book["items"].iter_rows()]
    assert rows[2][3] == pytest.approx(alpha, abs=5e-4) and rows[2][6] == n
    m2 = next(r for r in rows if r[2] == "m2")
    assert m2[8] == pytest.approx(rest_r[1], abs=5e-4) and m2[10] == "OUI"


def test_empty_export_gives_a_header_and_a_valid_workbook(app):
    make_invitation(app, org="Quiet", campaign="Lyon", email="pending@example.org")
    with app.app_context():
        frame, context = exports.export_frame(org_id(app, "Quiet"))
    assert frame.empty and context.rows == 0
    # The columns do not depend on who finished: the campaign's form gives the scales.
    assert list(frame.columns) == exports.export_columns(SCALES)
    for sep in (",", ";"):
        for bom in (True, False):
            data = b"".join(exports.csv_chunks(frame, sep=sep, bom=bom))
            assert data.decode("utf-8-sig") == sep.join(frame.columns) + "\r\n"
            assert read_csv(data, sep).empty
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes(frame, context)))
    assert book.sheetnames == list(exports.SHEETS.values())
    assert book["candidats"].max_row == 1
    assert [c.value for c in book["candidats"][1]] == list(frame.columns)
    about = dict((r[0].value, r[1].value) for r in book["à propos"].iter_rows(min_row=2))
    assert about["Lignes (candidats)"] == 0


def test_reference_norm_export_shows_the_stored_table(app):
    organisation = populate(app)
    with app.app_context(), pytest.raises(results.NormUnavailable):
        exports.export_frame(organisation, exports.ExportFilters(norm="reference"))
    with app.app_context():
        results.refresh_reference_norm(organisation, "mini")
        db.session.commit()
        frame, context = exports.export_frame(
            organisation, exports.ExportFilters(norm="reference"), items=False
        )
    assert context.norm.kind == "reference" and context.norm.n == 12
    assert (
        frame["norm_pool"].eq("reference:mini").all() and frame["norm_kind"].eq("reference").all()
    )
    table = context.norm_table.set_index("scale")
    composite = expected_scores(app, organisation)["composite"]
    assert table.loc["composite", "mean"] == pytest.approx(composite.mean())
    z = (frame["composite"] - composite.mean()) / composite.std()
    np.testing.assert_allclose(frame["composite_z"], z, atol=0.0005 + 0.005 / composite.std())
    about = dict(exports.about_rows(context))
    assert about["Date de la norme"].startswith("établie le")


def test_writers_refuse_what_they_cannot_write_before_writing_anything(app, monkeypatch):
    make_invitation(app, org="Quiet", campaign="Lyon", email="pending@example.org")
    with app.app_context():
        frame, context = exports.export_frame(org_id(app, "Quiet"), items=False)
    with pytest.raises(ValueError, match="sep"):
        exports.csv_chunks(frame, sep="|")
    monkeypatch.setattr(exports.xlsx, "EXCEL_MAX_ROWS", 1)
    target = io.BytesIO()
    with pytest.raises(ValueError, match="CSV"):
        exports.write_xlsx(frame.reindex([0]), context, target)
    assert target.getvalue() == b""
