"""Demo data: an organisation with its users, three campaigns and synthetic candidates.

Synthetic candidates answer from a latent service orientation drawn per campaign, so that pools
differ in level and spread the way real applicant pools do. Everything is keyed on stable
values (emails, titles), so running it twice changes nothing and prints the same links.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from recruit.auth import services as accounts
from recruit.candidate import services as taking
from recruit.core import scoring
from recruit.data import questions
from recruit.data.models import Campaign, Invitation, ReferenceNorm, utcnow
from recruit.extensions import db
from recruit.services import invitations, links, results

ORGANISATION = "Maison Démo"
FORM = "service-orientation"
USERS = [
    ("admin@demo.recruit.example", "Alix Admin", "admin", "demo-admin-2026"),
    ("recruteur@demo.recruit.example", "Rémi Recruteur", "recruiter", "demo-recruteur-2026"),
    ("rh@demo.recruit.example", "Hélène RH", "hr", "demo-rh-2026"),
]


@dataclass(frozen=True)
class Pool:
    title: str
    site: str
    language: str
    completed: int
    started: int
    expired: int
    level: float  # mean of the latent orientation
    spread: float  # its SD


POOLS = [
    Pool("Réceptionniste", "Hôtel du Parc, Lyon", "fr", 70, 6, 4, 0.4, 0.8),
    Pool("Conseiller·ère de vente", "Bordeaux centre", "fr", 55, 5, 3, -0.2, 1.2),
    Pool("Front desk agent", "Genève", "en", 40, 4, 3, 0.1, 0.6),
]
FIRST = [
    "Camille",
    "Sacha",
    "Alex",
    "Dominique",
    "Claude",
    "Maxime",
    "Charlie",
    "Morgan",
    "Lou",
    "Noa",
    "Robin",
    "Sam",
    "Andrea",
    "Yanis",
    "Inès",
    "Léa",
    "Hugo",
    "Amir",
    "Nadia",
    "Jules",
    "Chloé",
    "Malik",
    "Sofia",
    "Tom",
    "Aya",
    "Lucas",
    "Emma",
    "Ibrahim",
    "Zoé",
    "Théo",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "Nguyen",
    "Haddad",
    "Diallo",
    "Okafor",
    "Kowalski",
    "Rossi",
    "Silva",
    "Benali",
    "Traoré",
    "Schmitt",
]


def _nonce(label: str) -> str:
    return hashlib.sha256(f"recruit-demo:{label}".encode()).hexdigest()[:32]


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# One person in this many rates every option of every rating item alike, as some real candidates
# do: their attempt carries the "uniform ratings" flag.
FLAT_RATER_EVERY = 25


def synthetic_answers(
    form, theta: float, rng: random.Random, *, flat_ratings: bool = False
) -> dict[str, scoring.Response]:
    """Answers of a person with latent orientation ``theta`` (0 = average, 1 = one SD above);
    with ``flat_ratings`` every rating is 4."""
    responses: dict[str, scoring.Response] = {}
    for item in form.items:
        options = sorted(item.options, key=lambda o: o.key, reverse=True)
        ids = [o.id for o in options]
        if item.format == "most_least":
            best = ids[0] if rng.random() < _logistic(1.2 * theta + 0.3) else rng.choice(ids[1:])
            rest = [i for i in ids if i != best]
            worst = (
                ids[-1] if ids[-1] != best and rng.random() < _logistic(theta) else rng.choice(rest)
            )
            responses[item.id] = scoring.MostLeast(best, worst)
        elif item.format == "rating" and flat_ratings:
            responses[item.id] = scoring.Ratings(dict.fromkeys(ids, 4))
        elif item.format == "rating":
            noise = max(0.4, 1.6 - 0.6 * theta)
            responses[item.id] = scoring.Ratings(
                {o.id: min(6, max(1, round(o.key + rng.gauss(0.3, noise)))) for o in options}
            )
        else:
            weights = [math.exp((0.8 + 0.6 * theta) * (o.key - 3.5)) for o in options]
            responses[item.id] = scoring.Choice(rng.choices(ids, weights)[0])
    return responses


def _campaign(organisation, pool: Pool, bank) -> Campaign:
    campaign = db.session.scalar(
        sa.select(Campaign).where(
            Campaign.organisation_id == organisation.id, Campaign.title == pool.title
        )
    )
    if campaign is None:
        campaign = invitations.open_campaign(
            organisation,
            bank.get(FORM, pool.language),
            title=pool.title,
            site=pool.site,
            invitation_days=30,
        )
    return campaign


def _invitation(campaign, name: str, email: str) -> tuple[Invitation, bool]:
    nonce = _nonce(email)
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_nonce == nonce))
    if invitation is not None:
        return invitation, False
    candidate = invitations.find_or_create_candidate(campaign.organisation, name, email)
    invitation, _ = invitations.invite(campaign, candidate, days=30, nonce=nonce)
    return invitation, True


def build() -> dict:
    """Create (once) and describe the demo: users with passwords, and links to try."""
    bank = questions.bank()
    organisation = invitations.find_organisation(ORGANISATION) or invitations.create_organisation(
        ORGANISATION
    )
    for email, name, role, password in USERS:
        if accounts.find_user(email) is None:
            accounts.create_user(organisation, email, role, password, name)
    rng = random.Random(2026)  # nosec B311 # made-up demo answers, not a secret
    consent_text = "Démo : consentement donné lors de la génération des données de démonstration."
    try_links = []
    for index, pool in enumerate(POOLS):
        campaign = _campaign(organisation, pool, bank)
        form = bank.get(FORM, pool.language)
        people = pool.completed + pool.started + pool.expired
        for n in range(people):
            first, last = (
                FIRST[(n * 7 + index) % len(FIRST)],
                LAST[(n * 11 + index * 3) % len(LAST)],
            )
            email = f"{first}.{last}.{index}{n}@example.org".lower()
            theta = rng.gauss(pool.level, pool.spread)
            answers = synthetic_answers(
                form, theta, rng, flat_ratings=n % FLAT_RATER_EVERY == FLAT_RATER_EVERY - 1
            )
            invitation, new = _invitation(campaign, f"{first} {last}", email)
            if not new:
                continue
            if n < pool.completed + pool.started:
                taking.record_consent(invitation, form, consent_text, pool.language)
                pages = form.pages(invitation.seed)
                # Those who stop do so after a few pages, like real candidates.
                stop = len(pages) if n < pool.completed else rng.randint(0, len(pages) - 2)
                for number, page in enumerate(pages[:stop], start=1):
                    responses = {item.id: answers[item.id] for item in page}
                    taking.save_page(invitation, form, number, responses, rng.uniform(60, 240))
                if n < pool.completed:
                    taking.submit(invitation, form)
                    finished = utcnow() - timedelta(
                        days=rng.randint(0, 40), hours=rng.randint(0, 9)
                    )
                    invitation.completed_at = finished
                    invitation.started_at = invitation.consented_at = finished - timedelta(
                        minutes=rng.randint(12, 40)
                    )
            else:
                invitation.expires_at = utcnow() - timedelta(days=rng.randint(1, 10))
        # Fresh links to try as a candidate, in the campaign's language.
        for k in range(2):
            name = ["Jordan Essai", "Ariel Essai"][k]
            invitation, _ = _invitation(campaign, name, f"essai{k}.{index}@example.org")
            try_links.append((campaign, name, invitation))
    db.session.flush()
    has_norm = db.session.scalar(
        sa.select(ReferenceNorm.id).where(ReferenceNorm.organisation_id == organisation.id)
    )
    if not has_norm:
        results.refresh_reference_norm(organisation.id, FORM)
    return {
        "organisation": organisation,
        "users": USERS,
        "links": [(c, name, inv.status, links.invitation_link(inv)) for c, name, inv in try_links],
    }
