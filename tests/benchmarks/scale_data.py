"""Builds the benchmark organisation "Bench": N completed tests of the real bank, bulk-inserted.

Used by tests/benchmarks/bench_scale.py (``build``) and its test. What is built, from one seed:
- 100 campaigns of "service-orientation", about 70 % in French, of uneven sizes (the first holds
  about 40 % of the tests, the others follow a log-normal spread), open and closed, each with its
  own period within the last 18 months;
- per completed test (80 % of the links): a candidate, an invitation, its 40 answers, the time
  spent on each of the 10 pages, its result and scale scores, scored by the app's own code
  (``scoring.score_attempt`` and ``results.result_values``); 10 % of the links are started and
  not finished (answers and page times for the pages saved), 10 % never opened (pending, mostly
  expired by now, a few revoked);
- answers drawn from a latent trait per person: options picked with a probability that grows
  with key x trait (a softmax over the options' keys plus noise), ratings that follow the keys,
  and about one person in 25 who gives the same rating everywhere (flagged by the scoring).

Scoring a million tests one by one would take an hour, so the tests reuse a pool of distinct
answer patterns (``PATTERNS``, shared out between the languages), each scored once; the people,
links, campaigns and dates all differ. Dates are laid out backwards from today's midnight (UTC),
so that the links of the last two weeks are still live whenever the data is built.

The large tables are written directly through the driver: ``executemany`` on SQLite (with
``PRAGMA synchronous=OFF``), ``COPY`` on PostgreSQL; the small ones through the ORM.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

FORM_ID = "service-orientation"
ORGANISATION = "Bench"
HR_EMAIL = "hr@bench.example"
RECRUITER_EMAIL = "recruteur@bench.example"
CAMPAIGNS = 100
BIGGEST_SHARE = 0.42  # of the tests, in the first campaign (the issue: 21,000 of 49,665)
FRENCH_SHARE = 0.7
PATTERNS = 20_000  # distinct scored answer patterns, at most
STARTED_SHARE = 0.10  # of all links: started, not finished
PENDING_SHARE = 0.10  # of all links: never opened (a few of them revoked)
FLAT_RATERS = 1 / 25
MONTHS = 18
BLOCK = 5_000  # links written per transaction
CONSENT_TEXT = "Bench: the consent notice shown to candidates (stored once per language)."

FIRST_NAMES = [
    "Camille",
    "Dominique",
    "Claude",
    "Lou",
    "Sacha",
    "Alix",
    "Maxime",
    "Noa",
    "Charlie",
    "Eden",
    "Morgan",
    "Yannick",
    "Amélie",
    "Hélène",
    "Léa",
    "Chloé",
    "Inès",
    "Manon",
    "Jade",
    "Zoé",
    "Lucas",
    "Hugo",
    "Théo",
    "Nathan",
    "Louis",
    "Jules",
    "Karim",
    "Mehdi",
    "Yasmine",
    "Fatou",
    "Aïcha",
    "Moussa",
    "Sofia",
    "Elena",
    "Marco",
    "Ana",
    "João",
    "Lukas",
    "Ewa",
    "Nguyen",
    "Mei",
    "Hiroshi",
    "Priya",
    "Aditi",
    "Olusegun",
    "Amara",
    "Kofi",
    "Siobhan",
    "Aurélien",
    "Gaëlle",
    "Anaïs",
    "Benoît",
    "Céline",
    "Loïc",
    "Maëlle",
    "Noémie",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Diallo",
    "Traoré",
    "Benali",
    "Haddad",
    "Nguyen",
    "Tran",
    "Kowalski",
    "Silva",
    "Ferreira",
    "Rossi",
    "Schmidt",
    "O'Brien",
]
JOBS = (
    "Conseiller clientèle",
    "Réceptionniste",
    "Serveur ou serveuse",
    "Vendeur ou vendeuse",
    "Hôte de caisse",
    "Agent d'accueil",
    "Technicien support",
    "Chargé de clientèle",
    "Concierge d'hôtel",
    "Assistant commercial",
)
JOBS_EN = (
    "Customer adviser",
    "Receptionist",
    "Waiter",
    "Sales assistant",
    "Cashier",
    "Front desk agent",
    "Support technician",
    "Account manager",
    "Hotel concierge",
    "Sales support",
)
SITES = (
    "Lyon Part-Dieu",
    "Paris 11e",
    "Marseille Vieux-Port",
    "Lille Europe",
    "Nantes",
    "Bordeaux",
    "Toulouse Capitole",
    "Strasbourg",
    "Genève",
    "Bruxelles",
    "Montréal",
    "Rennes",
    "Grenoble",
    "Nice",
)


def today_midnight() -> datetime:
    """The anchor of every date: today at 00:00 UTC, naive like the database's times."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def stamp(moment: datetime | None) -> str | None:
    """A time as both databases read it, and as SQLAlchemy writes it on SQLite."""
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def ascii_of(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in plain.lower() if c.isalnum())


# --- Answer patterns ------------------------------------------------------------------------


def _softmax_pick(rng: random.Random, options: Sequence, weights: Sequence[float]):
    top = max(weights)
    exps = [math.exp(w - top) for w in weights]
    return rng.choices(options, weights=exps)[0]


def answer_pattern(form, rng: random.Random) -> dict[str, dict]:
    """One person's answers to every item of ``form``, as stored payloads.

    A latent trait ~ N(0, 1) sets how strongly the keys steer the picks: logit of an option =
    (0.9 + 0.8 x trait) x its centred key + Gumbel-like noise through the softmax draw; the worst
    is drawn among the other options with the opposite logits. Ratings = 3.5 + a personal
    leniency + 0.55 x (0.9 + 0.8 x trait) x centred key + N(0, 1), rounded into 1..6; one person
    in 25 gives the same rating to every option.
    """
    trait = rng.gauss(0.0, 1.0)
    slope = 0.9 + 0.8 * trait
    leniency = rng.gauss(0.0, 0.5)
    flat = rng.random() < FLAT_RATERS
    flat_value = rng.choice((3, 4, 4, 5))
    payloads: dict[str, dict] = {}
    for item in form.items:
        ids = [o.id for o in item.options]
        keys = [o.key for o in item.options]
        mean = sum(keys) / len(keys)
        centred = [(k - mean) / 1.7 for k in keys]
        if item.format == "most_least":
            best = _softmax_pick(rng, ids, [slope * c for c in centred])
            rest = [(i, c) for i, c in zip(ids, centred, strict=True) if i != best]
            worst = _softmax_pick(rng, [i for i, _ in rest], [-slope * c for _, c in rest])
            payloads[item.id] = {"best": best, "worst": worst}
        elif item.format == "rating":
            if flat:
                ratings = dict.fromkeys(ids, flat_value)
            else:
                ratings = {
                    i: min(6, max(1, round(3.5 + leniency + 0.55 * slope * c + rng.gauss(0, 1))))
                    for i, c in zip(ids, centred, strict=True)
                }
            payloads[item.id] = {"ratings": dict(sorted(ratings.items()))}
        else:
            payloads[item.id] = {"choice": _softmax_pick(rng, ids, [slope * c for c in centred])}
    return payloads


@dataclass
class Pattern:
    """A scored answer pattern, its values already in the writer's form."""

    answers: list[tuple[str, str]]  # (item id, payload JSON) in the form's item order
    result: dict  # Result columns (not id, invitation, campaign, scored_at): wire values
    scales: list[tuple[str, float, int]]


def scored_patterns(form, count: int, rng: random.Random, writer: Writer) -> list[Pattern]:
    """``count`` answer patterns for ``form``, each scored once by the app's own code."""
    from recruit.core import scoring
    from recruit.services import results

    patterns = []
    for _ in range(count):
        payloads = answer_pattern(form, rng)
        attempt = scoring.score_attempt(form, results.valid_responses(form, payloads))
        values = results.result_values(form, attempt, payloads, form.version)
        values.pop("scored_at", None)
        patterns.append(
            Pattern(
                answers=[
                    (item_id, writer.text(json.dumps(payload)))
                    for item_id, payload in payloads.items()
                ],
                result={column: writer.value(value) for column, value in values.items()},
                scales=[(s, a.value, a.n_items) for s, a in attempt.scales.items()],
            )
        )
    return patterns


# --- Writing rows fast ----------------------------------------------------------------------


class Writer:
    """Rows straight to the driver: executemany on SQLite, COPY on PostgreSQL. Values are given
    in wire form: times by ``stamp``, text through ``text``, JSON as text."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.counts: dict[str, int] = {}

    @property
    def raw(self):
        """The driver's own connection under the current SQLAlchemy one."""
        return self.connection.connection.driver_connection

    def text(self, value: str) -> str:
        if self.dialect == "postgresql":
            return (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value

    def value(self, value):
        """Any Python value of a column (dicts and lists as JSON), in wire form."""
        if isinstance(value, dict | list):
            return self.text(json.dumps(value))
        if isinstance(value, datetime):
            return stamp(value)
        if isinstance(value, bool):
            return int(value) if self.dialect == "sqlite" else ("t" if value else "f")
        if isinstance(value, str):
            return self.text(value)
        return value

    def defaults(self, table: sa.Table, columns: Sequence[str]) -> dict[str, object]:
        """Values for the columns left out that have a Python-side default (a schema grown since
        this was written still gets them), in wire form."""
        found = {}
        for column in table.columns:
            if column.name in columns or column.primary_key or column.default is None:
                continue
            default = column.default
            if default.is_scalar:
                found[column.name] = self.value(default.arg)
            elif default.is_callable:
                found[column.name] = self.value(default.arg(None))
        return found

    def insert(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        extra = self.defaults(table, columns)
        names = [*columns, *extra]
        tail = tuple(extra.values())
        count = 0
        if self.dialect == "postgresql":
            sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
            with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
                lines = []
                for row in rows:
                    lines.append(
                        "\t".join("\\N" if v is None else str(v) for v in row + tail) + "\n"
                    )
                    if len(lines) >= 20_000:
                        copy.write("".join(lines))
                        count += len(lines)
                        lines = []
                copy.write("".join(lines))
                count += len(lines)
        else:
            marks = ", ".join("?" * len(names))
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
            cursor = self.raw.cursor()
            batch = []
            for row in rows:
                batch.append(row + tail)
                if len(batch) >= 20_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            cursor.executemany(sql, batch)
            count += len(batch)
            cursor.close()
        self.counts[table.name] = self.counts.get(table.name, 0) + count
        return count

    def next_id(self, table: sa.Table) -> int:
        return (self.connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1

    def reset_sequences(self, tables: Sequence[sa.Table]) -> None:
        """PostgreSQL: move each id sequence past the ids written here."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            self.connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                )
            )


# --- The organisation -----------------------------------------------------------------------


@dataclass
class Plan:
    """The campaigns and how many links of each kind they get."""

    campaigns: list[dict] = field(default_factory=list)  # id, language, start, end, days
    completed: int = 0
    started: int = 0
    pending: int = 0


def campaign_weights(rng: random.Random) -> list[float]:
    """Shares of the links per campaign: the first BIGGEST_SHARE, the rest log-normal."""
    others = [rng.lognormvariate(0.0, 1.0) for _ in range(CAMPAIGNS - 1)]
    total = sum(others)
    return [BIGGEST_SHARE] + [(1 - BIGGEST_SHARE) * w / total for w in others]


def campaign_rows(organisation_id: int, rng: random.Random, now: datetime) -> list[dict]:
    """The 100 campaigns: titles, sites, languages, periods and statuses."""
    horizon = now - timedelta(days=30 * MONTHS)
    rows = []
    for index in range(CAMPAIGNS):
        french = index == 0 or rng.random() < FRENCH_SHARE
        job = rng.randrange(len(JOBS))
        site = SITES[rng.randrange(len(SITES))]
        if index == 0:
            start, end = horizon, now
        elif rng.random() < 0.25:  # still recruiting
            start = now - timedelta(days=rng.uniform(20, 200))
            end = now
        else:
            start = horizon + timedelta(days=rng.uniform(0, 30 * MONTHS - 60))
            end = min(now - timedelta(days=15), start + timedelta(days=rng.uniform(30, 180)))
        closed = end < now - timedelta(days=30)
        rows.append(
            {
                "organisation_id": organisation_id,
                "title": (JOBS if french else JOBS_EN)[job] + f" {2025 + index % 2}-{index:02d}",
                "site": site,
                "form_id": FORM_ID,
                "language": "fr" if french else "en",
                "status": "closed" if closed else "open",
                "invitation_days": 14,
                "deadline": None,
                "retention_months": 24,
                "created_at": start - timedelta(days=1),
                "closed_at": end if closed else None,
                "_start": start,
                "_end": end,
            }
        )
    return rows


def _distributed(total: int, weights: Sequence[float], rng: random.Random) -> list[int]:
    """``total`` split over the weights: largest remainders, each share at least one."""
    raw = [total * w for w in weights]
    counts = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: counts[k])
        counts[j] -= 1
    return counts


@dataclass
class Built:
    api_key: str
    organisation_id: int
    campaign_ids: list[int]
    counts: dict[str, int]
    seconds: float


def create_app_for(url: str, **overrides):
    """The app on ``url`` with the real bank and no mail worker (no SMTP in a benchmark)."""
    from recruit import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url, "MAIL_WORKER": "off"}
    config.update(overrides)
    return create_app(config)


def migrate(app) -> None:
    """Run the app's migrations, as `recruit db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def build(
    app, n: int, password: str, *, seed: int = 13, log=print, patterns: int = PATTERNS
) -> Built:
    """Build the organisation "Bench" with ``n`` completed tests in ``app``'s database (already
    migrated); return its API key and what was written."""
    from werkzeug.security import generate_password_hash

    from recruit.data import models, questions
    from recruit.data.models import token_for, token_hash
    from recruit.extensions import db
    from recruit.services import apikeys, results

    begin = time.perf_counter()
    rng = random.Random(seed)
    now = today_midnight()
    with app.app_context():
        bank = questions.bank(app)
        forms = {lang: bank.get(FORM_ID, lang) for lang in ("fr", "en")}
        secret = app.config["SECRET_KEY"]
        if db.session.scalar(
            sa.select(models.Organisation.id).where(models.Organisation.name == ORGANISATION)
        ):
            raise SystemExit(f"this database already holds an organisation {ORGANISATION!r}")

        # The small tables, through the ORM.
        organisation = models.Organisation(name=ORGANISATION, created_at=now - timedelta(days=600))
        db.session.add(organisation)
        db.session.flush()
        for email, role, name in (
            (HR_EMAIL, "hr", "Hélène RH"),
            (RECRUITER_EMAIL, "recruiter", "Romain Recruteur"),
        ):
            db.session.add(
                models.User(
                    organisation_id=organisation.id,
                    email=email,
                    name=name,
                    role=role,
                    password_hash=generate_password_hash(password, method="scrypt"),
                    password_changed_at=now,
                )
            )
        _, key = apikeys.create_key(organisation, "Bench ATS")
        versions = {lang: results.ensure_form_version(form) for lang, form in forms.items()}
        consents = {}
        for lang in forms:
            consents[lang] = f"{lang}-{hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()[:16]}"
            models.insert_missing(
                models.ConsentText,
                version=consents[lang],
                language=lang,
                text=CONSENT_TEXT,
                first_used_at=now - timedelta(days=600),
            )
        rows = campaign_rows(organisation.id, rng, now)
        campaigns = []
        for row in rows:
            campaign = models.Campaign(**{k: v for k, v in row.items() if not k.startswith("_")})
            db.session.add(campaign)
            campaigns.append(campaign)
        db.session.flush()
        organisation_id = organisation.id
        plan = [
            {"id": c.id, "language": c.language, "start": r["_start"], "end": r["_end"]}
            for c, r in zip(campaigns, rows, strict=True)
        ]
        db.session.commit()

        connection = db.session.connection()
        writer = Writer(connection)
        if writer.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=OFF")

        # Who gets which kind of link, in which campaign.
        total = round(n / (1 - STARTED_SHARE - PENDING_SHARE))
        started = round(total * STARTED_SHARE)
        pending = total - n - started
        weights = campaign_weights(rng)
        kinds = ["completed"] * n + ["started"] * started + ["pending"] * pending
        rng.shuffle(kinds)
        per_campaign = _distributed(total, weights, rng)
        where = [c for c, count in enumerate(per_campaign) for _ in range(count)]
        rng.shuffle(where)

        # The answer patterns, each scored once, shared out between the languages.
        completed_by_lang = {"fr": 0, "en": 0}
        for kind, c in zip(kinds, where, strict=True):
            if kind == "completed":
                completed_by_lang[plan[c]["language"]] += 1
        pool: dict[str, list[Pattern]] = {}
        for lang, form in forms.items():
            wanted = completed_by_lang[lang] or 1
            share = max(1, round(patterns * wanted / max(n, 1)))
            pool[lang] = scored_patterns(form, min(wanted, share), rng, writer)
        scored = time.perf_counter() - begin
        log(
            f"scored {sum(len(p) for p in pool.values()):,} answer patterns in {scored:.1f} s; "
            f"writing {total:,} links ({n:,} completed) into {writer.dialect}"
        )

        tables = {t: models.db.metadata.tables[t] for t in models.db.metadata.tables}
        candidate_id = writer.next_id(tables["candidates"])
        invitation_id = writer.next_id(tables["invitations"])
        answer_id = writer.next_id(tables["answers"])
        result_id = writer.next_id(tables["results"])
        result_columns = ["id", "invitation_id", "campaign_id", "scored_at"]
        result_columns += list(pool["fr"][0].result)
        used = dict.fromkeys(forms, 0)
        for block_start in range(0, total, BLOCK):
            candidates, invitations, answers, times, scores, scales = [], [], [], [], [], []
            for index in range(block_start, min(total, block_start + BLOCK)):
                kind = kinds[index]
                campaign = plan[where[index]]
                lang = campaign["language"]
                first = rng.choice(FIRST_NAMES)
                last = rng.choice(LAST_NAMES)
                external = f"ATS-{candidate_id:07d}" if rng.random() < 0.4 else None
                candidates.append(
                    (
                        candidate_id,
                        organisation_id,
                        writer.text(f"{first} {last}"),
                        f"{ascii_of(first)}.{ascii_of(last)}.{candidate_id}@example.org",
                        external,
                        None,
                    )
                )
                # Recent links are live; most of the unfinished ones are expired by now.
                start, end = campaign["start"], campaign["end"]
                if kind != "completed" and end >= now and rng.random() < 0.35:
                    start = max(start, now - timedelta(days=13))
                span = (end - start).total_seconds()
                created = start + timedelta(seconds=rng.uniform(0, span))
                expires = created + timedelta(days=14)
                nonce = f"{rng.getrandbits(128):032x}"
                row = {
                    "status": kind,
                    "consented_at": None,
                    "consent_version": None,
                    "form_version": None,
                    "started_at": None,
                    "completed_at": None,
                    "revoked_at": None,
                }
                if kind == "completed":
                    opened = created + timedelta(hours=min(24 * 12, rng.expovariate(1 / 30)))
                    minutes = min(120.0, max(8.0, rng.lognormvariate(math.log(22), 0.4)))
                    done = opened + timedelta(minutes=minutes)
                    if done > now - timedelta(minutes=5):
                        shift = done - now + timedelta(hours=1)
                        created, opened, done = created - shift, opened - shift, done - shift
                        expires = created + timedelta(days=14)
                    pattern = pool[lang][used[lang] % len(pool[lang])]
                    used[lang] += 1
                    row.update(started_at=opened, completed_at=done, consented_at=opened)
                    page_stamps = [
                        stamp(opened + (done - opened) * (p + 1) / 10) for p in range(10)
                    ]
                    for j, (item_id, payload) in enumerate(pattern.answers):
                        answered = page_stamps[min(9, j // 4)]
                        answers.append(
                            (
                                answer_id,
                                invitation_id,
                                item_id,
                                payload,
                                versions[lang],
                                answered,
                                answered,
                            )
                        )
                        answer_id += 1
                    seconds = minutes * 60 / 10
                    for page in range(1, 11):
                        times.append(
                            (
                                invitation_id,
                                page,
                                round(seconds * rng.uniform(0.5, 1.5), 1),
                                1 if rng.random() < 0.85 else 2,
                                (opened - datetime(1970, 1, 1)).total_seconds() + page * seconds,
                            )
                        )
                    scores.append(
                        (result_id, invitation_id, campaign["id"], stamp(done))
                        + tuple(pattern.result.values())
                    )
                    for scale, value, count in pattern.scales:
                        scales.append((result_id, scale, value, count))
                    result_id += 1
                elif kind == "started":
                    opened = created + timedelta(hours=rng.uniform(0, 24 * 10))
                    opened = min(opened, now - timedelta(minutes=30))
                    row.update(started_at=opened, consented_at=opened)
                    saved = min(9, int(rng.expovariate(1 / 3)))
                    if saved:
                        pattern = pool[lang][rng.randrange(len(pool[lang]))]
                        payloads = dict(pattern.answers)
                        seed_items = forms[lang].pages(int(nonce[:15], 16))[:saved]
                        at = stamp(opened + timedelta(minutes=2 * saved))
                        for page_items in seed_items:
                            for item in page_items:
                                answers.append(
                                    (
                                        answer_id,
                                        invitation_id,
                                        item.id,
                                        payloads[item.id],
                                        versions[lang],
                                        at,
                                        at,
                                    )
                                )
                                answer_id += 1
                        for page in range(1, saved + 1):
                            times.append(
                                (
                                    invitation_id,
                                    page,
                                    round(rng.uniform(40, 200), 1),
                                    1,
                                    (opened - datetime(1970, 1, 1)).total_seconds() + page * 120,
                                )
                            )
                elif rng.random() < 0.05:
                    row.update(status="revoked", revoked_at=created + timedelta(days=2))
                if row["started_at"] is not None:
                    row.update(consent_version=consents[lang], form_version=versions[lang])
                invitations.append(
                    (
                        invitation_id,
                        campaign["id"],
                        candidate_id,
                        token_hash(token_for(nonce, secret)),
                        nonce,
                        int(nonce[:15], 16),
                        row["status"],
                        stamp(created),
                        stamp(expires),
                        stamp(row["consented_at"]),
                        row["consent_version"],
                        row["form_version"],
                        stamp(row["started_at"]),
                        stamp(row["completed_at"]),
                        stamp(row["revoked_at"]),
                        None,
                    )
                )
                candidate_id += 1
                invitation_id += 1
            writer.insert(
                tables["candidates"],
                ["id", "organisation_id", "name", "email", "external_id", "anonymised_at"],
                candidates,
            )
            writer.insert(
                tables["invitations"],
                [
                    "id",
                    "campaign_id",
                    "candidate_id",
                    "token_hash",
                    "token_nonce",
                    "seed",
                    "status",
                    "created_at",
                    "expires_at",
                    "consented_at",
                    "consent_version",
                    "form_version",
                    "started_at",
                    "completed_at",
                    "revoked_at",
                    "erased_at",
                ],
                invitations,
            )
            writer.insert(
                tables["answers"],
                [
                    "id",
                    "invitation_id",
                    "item_id",
                    "payload",
                    "form_version",
                    "answered_at",
                    "updated_at",
                ],
                answers,
            )
            writer.insert(
                tables["page_times"],
                ["invitation_id", "page", "seconds", "visits", "last_shown_at"],
                times,
            )
            writer.insert(tables["results"], result_columns, scores)
            writer.insert(
                tables["scale_scores"], ["result_id", "scale_id", "value", "n_items"], scales
            )
            db.session.commit()
            connection = db.session.connection()
            writer.connection = connection
            if writer.dialect == "sqlite":
                connection.exec_driver_sql("PRAGMA synchronous=OFF")
        writer.reset_sequences(
            [tables[t] for t in ("candidates", "invitations", "answers", "results")]
        )
        db.session.commit()
        if writer.dialect == "postgresql":
            # What autovacuum would have done on a live database: statistics, visibility map.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return Built(
        api_key=key,
        organisation_id=organisation_id,
        campaign_ids=[c["id"] for c in plan],
        counts=dict(writer.counts),
        seconds=time.perf_counter() - begin,
    )
