"""Normalized scores in the app, reference norms and rescoring, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
import sqlalchemy as sa
import yaml
from scipy import stats

from recruit.data import questions
from recruit.data.models import Answer, FormVersion, Organisation, ReferenceNorm, Result
from recruit.extensions import db
from recruit.services import results
from tests.conftest import (
    MINI_BANK,
    complete_invitation,
    empty_database,
    make_app,
    make_invitation,
    random_responses,
)


def populate(app, layout: dict[str, int], org="Acme", seed=3, lang="fr"):
    """Complete ``n`` random tests in each named campaign; return the organisation id."""
    rng = random.Random(seed)
    form = questions.bank(app).get("mini", lang)
    for campaign, n in layout.items():
        for i in range(n):
            token = make_invitation(
                app, org=org, campaign=campaign, lang=lang, email=f"{campaign}-{i}@example.org"
            )
            complete_invitation(app, token, random_responses(form, rng))
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == org))


def stored_composites(app, org_id):
    """Composite per invitation straight from the results table, with its campaign title."""
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT r.invitation_id, c.title, r.composite FROM results r"
                " JOIN invitations i ON i.id = r.invitation_id"
                " JOIN campaigns c ON c.id = i.campaign_id"
                " WHERE c.organisation_id = :org ORDER BY r.invitation_id"
            ),
            {"org": org_id},
        ).all()
    return rows


def test_campaign_norm_matches_a_hand_computation(app):
    org = populate(app, {"Lyon": 6, "Paris": 9})
    with app.app_context():
        frame, info = results.normalized_scores(org, norm="campaign", min_pool=2)
    assert info.kind == "campaign" and info.method == "standard"
    rows = stored_composites(app, org)
    by_campaign = {}
    for invitation_id, title, composite in rows:
        by_campaign.setdefault(title, []).append((invitation_id, composite))
    frame = frame.set_index("invitation_id")
    for members in by_campaign.values():
        values = np.array([c for _, c in members])
        z = (values - values.mean()) / values.std(ddof=1)
        ids = [i for i, _ in members]
        np.testing.assert_allclose(frame.loc[ids, "composite_z"], z)
        pct = [stats.percentileofscore(values, v, kind="mean") for v in values]
        np.testing.assert_allclose(frame.loc[ids, "composite_pct"], pct)
        assert (frame.loc[ids, "norm_n"] == len(values)).all()
        assert not frame.loc[ids, "norm_provisional"].any()
    assert {"plaisir_z", "ecoute_t", "composite_stanine", "form_version", "scoring_method"} <= set(
        frame.columns
    )


def test_small_campaigns_are_provisional_by_default(app):
    org = populate(app, {"Lyon": 4})
    with app.app_context():
        frame, _ = results.normalized_scores(org)
    assert frame["norm_provisional"].all() and (frame["norm_n"] == 4).all()


def test_pooled_norm_puts_chosen_campaigns_in_one_pool(app):
    org = populate(app, {"Lyon": 5, "Paris": 5, "Nice": 3})
    with app.app_context():
        frame, info = results.normalized_scores(org, norm="campaign")
        ids = sorted(frame.loc[frame["campaign"] != "Nice", "campaign_id"].unique())
        pooled, info = results.normalized_scores(org, ids, norm="pooled", min_pool=2)
    assert info.kind == "pooled" and info.n == 10
    assert set(pooled["campaign"]) == {"Lyon", "Paris"}
    values = pooled["composite"].to_numpy()
    np.testing.assert_allclose(pooled["composite_z"], (values - values.mean()) / values.std(ddof=1))
    assert (pooled["norm_pool"] == "pooled").all()


def test_reference_norm_is_refreshed_stored_and_applied(app, runner):
    org = populate(app, {"Lyon": 5, "Paris": 6})
    with app.app_context(), pytest.raises(results.NormUnavailable):
        results.normalized_scores(org, norm="reference")
    out = runner.invoke(args=["norms", "refresh"])
    assert out.exit_code == 0, out.output
    assert "n=11" in out.output and "1 reference norm(s) built" in out.output
    with app.app_context():
        norm = db.session.scalar(sa.select(ReferenceNorm))
        assert (norm.n, norm.form_id, norm.method) == (11, "mini", "standard")
        assert {s.scale_id for s in norm.scales} == {"composite", "plaisir", "ecoute"}
        lyon = [c for c in db.session.scalars(sa.select(Result.composite))]
        frame, info = results.normalized_scores(org, norm="reference")
    assert info.kind == "reference" and info.n == 11 and info.built_at is not None
    values = np.array(lyon)
    z = (frame["composite"] - values.mean()) / values.std(ddof=1)
    np.testing.assert_allclose(frame["composite_z"], z)
    np.testing.assert_allclose(frame["composite_pct"], 100 * stats.norm.cdf(z))
    # A later refresh adds a norm with its own date; the newest one is used.
    populate(app, {"Nice": 2}, seed=8)
    runner.invoke(args=["norms", "refresh", "--org", "Acme"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferenceNorm)) == 2
        _, info = results.normalized_scores(org, norm="reference")
    assert info.n == 13


def test_organisations_never_see_each_others_scores(app):
    acme = populate(app, {"Lyon": 3}, org="Acme")
    other = populate(app, {"Lyon": 4}, org="Other")
    with app.app_context():
        mine, _ = results.normalized_scores(acme)
        theirs, _ = results.normalized_scores(other)
    assert len(mine) == 3 and len(theirs) == 4
    assert set(mine["invitation_id"]).isdisjoint(theirs["invitation_id"])


def test_unknown_norm_is_refused(app):
    with app.app_context(), pytest.raises(ValueError):
        results.normalized_scores(1, norm="galaxy")


def mini_bank_with_m1(tmp_path, keys: tuple[int, ...], scenario: str | None = None):
    """A copy of the mini bank whose m1 has these keys (options a, b, c, d) and, if given, this
    scenario, in both languages."""
    bank = tmp_path / "questions"
    shutil.copytree(MINI_BANK, bank)
    for lang in ("fr", "en"):
        path = bank / f"mini.{lang}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        m1 = data["items"][0]
        if scenario is not None:
            m1["scenario"] = scenario
        for option, key in zip(m1["options"], keys, strict=True):
            option["key"] = key
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return bank


def test_rescore_after_a_key_change_keeps_answers_and_records_the_new_version(
    database_url, tmp_path
):
    app = make_app(database_url)
    changed = None
    try:
        org = populate(app, {"Lyon": 6})
        old_version = questions.bank(app).get("mini", "fr").version
        with app.app_context():
            answers_before = db.session.execute(
                sa.select(Answer.id, Answer.payload, Answer.form_version).order_by(Answer.id)
            ).all()
        before = {i: c for i, _, c in stored_composites(app, org)}
        # The expert key changes: on m1 the keyed best becomes d and the keyed worst c.
        bank = mini_bank_with_m1(tmp_path, keys=(4, 3, 1, 6))
        changed = make_app(database_url, bank=bank)
        new_version = questions.bank(changed).get("mini", "fr").version
        assert new_version != old_version
        out = changed.test_cli_runner().invoke(args=["rescore", "--form", "mini"])
        assert out.exit_code == 0, out.output
        assert "6 completed test(s) rescored" in out.output and new_version in out.output
        after = {i: c for i, _, c in stored_composites(changed, org)}
        assert after.keys() == before.keys() and after != before
        with changed.app_context():
            assert (
                db.session.execute(
                    sa.select(Answer.id, Answer.payload, Answer.form_version).order_by(Answer.id)
                ).all()
                == answers_before
            )
            assert set(db.session.scalars(sa.select(Result.form_version))) == {new_version}
            assert db.session.get(FormVersion, new_version) is not None
            assert db.session.get(FormVersion, old_version) is not None
            # Each rescored value is what scoring the stored answers with the new key gives.
            from recruit.core import scoring

            form = questions.bank(changed).get("mini", "fr")
            for result in db.session.scalars(sa.select(Result)):
                payloads = dict(
                    db.session.execute(
                        sa.select(Answer.item_id, Answer.payload).where(
                            Answer.invitation_id == result.invitation_id
                        )
                    ).all()
                )
                expected = scoring.score_attempt(
                    form, {k: scoring.parse_response(form.item(k), v) for k, v in payloads.items()}
                )
                assert result.composite == pytest.approx(expected.composite)
        again = changed.test_cli_runner().invoke(args=["rescore", "--form", "mini"])
        assert "0 score(s) changed" in again.output
        unknown = changed.test_cli_runner().invoke(args=["rescore", "--form", "nope"])
        assert unknown.exit_code != 0 and "no form" in unknown.output
    finally:
        if changed is not None:
            with changed.app_context():
                db.engine.dispose()
        empty_database(app)


def test_rescore_scores_answers_to_a_reworded_item_on_the_text_they_answered(
    database_url, tmp_path
):
    app = make_app(database_url)
    changed = None
    try:
        org = populate(app, {"Lyon": 3})
        old_version = questions.bank(app).get("mini", "fr").version
        with app.app_context():
            composites = {
                r.invitation_id: r.composite for r in db.session.scalars(sa.select(Result))
            }
        # The bank's m1 is rewritten: same id and options, another scenario and other keys.
        bank = mini_bank_with_m1(
            tmp_path,
            keys=(1, 6, 3, 4),
            scenario="Un client demande une table en terrasse, complète.",
        )
        changed = make_app(database_url, bank=bank)
        out = changed.test_cli_runner().invoke(args=["rescore", "--form", "mini"])
        assert out.exit_code == 0, out.output
        assert "3 answer(s) to items reworded or removed since were scored" in out.output
        with changed.app_context():
            for result in db.session.scalars(sa.select(Result)):
                # m1 answers are scored on the m1 they read, with its keys: nothing moves, and
                # the result points to the version that was answered.
                assert result.composite == pytest.approx(composites[result.invitation_id])
                assert {s.scale_id: s.n_items for s in result.scales}["plaisir"] == 2
                assert result.form_version == old_version
        # A new test on the rewritten bank is scored on the new m1 and its new keys.
        token = make_invitation(changed, email="new@example.org", campaign="Lyon")
        answers = {
            "m1": {"best": "b", "worst": "a"},  # new keys b 6, a 1 -> 1.0 (old keys: 0.0)
            "m2": {"ratings": {"a": 6, "b": 2, "c": 1, "d": 5}},
            "m3": {"choice": "a"},
        }
        complete_invitation(changed, token, answers)
        with changed.app_context():
            newest = db.session.scalar(sa.select(Result).order_by(Result.id.desc()))
            assert newest.composite == pytest.approx(100.0)
            # Item statistics of today's m1 count only the answers to today's m1.
            from recruit.data import frames
            from recruit.services import exports

            rows = frames.scores(org)
            items = exports.item_scores(rows, questions.bank(changed), "mini", "fr")
            assert items["m1"].notna().sum() == 1
            assert items.loc[newest.invitation_id, "m1"] == pytest.approx(1.0)
            assert items["m3"].notna().sum() == 4
        assert len(stored_composites(changed, org)) == 4
    finally:
        if changed is not None:
            with changed.app_context():
                db.engine.dispose()
        empty_database(app)
