"""The candidates of an invitation request: the body read, every row checked, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence

from email_validator import EmailNotValidError, validate_email

from recruit.api.errors import ApiError
from recruit.api.schemas import EXTERNAL_ID_MAX, MAX_CANDIDATES, TITLE_MAX, is_clean_text
from recruit.data.models import Campaign
from recruit.services import invitations

ROW_FIELDS = ("name", "email", "external_id")


def _problem(index: int, field: str | None, code: str, message: str) -> dict:
    return {"index": index, "field": field, "code": code, "message": message}


def _text(row: dict, key: str) -> str | None:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else value


def _check_row(index: int, row, seen: dict[str, int]) -> tuple[dict | None, list[dict]]:
    """One candidate row -> (name, email, external_id) cleaned, and its problems."""
    if not isinstance(row, dict):
        return None, [_problem(index, None, "not_an_object", "Each candidate is an object.")]
    problems = [
        _problem(index, key, "unknown_field", f"Unknown field '{key}'.")
        for key in row
        if key not in ROW_FIELDS
    ]
    name = _text(row, "name")
    if name is None or name == "":
        problems.append(_problem(index, "name", "missing_name", "A name is required."))
    elif not isinstance(name, str) or not is_clean_text(name):
        problems.append(
            _problem(
                index,
                "name",
                "invalid_name",
                "The name must be plain text, without control characters or bidirectional marks.",
            )
        )
    elif len(name) > TITLE_MAX:
        problems.append(
            _problem(index, "name", "name_too_long", f"At most {TITLE_MAX} characters.")
        )
    email = _text(row, "email")
    if email is None or email == "":
        problems.append(_problem(index, "email", "missing_email", "An email is required."))
        email = None
    elif not isinstance(email, str):
        problems.append(_problem(index, "email", "invalid_email", "The email must be a string."))
        email = None
    else:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(_problem(index, "email", "invalid_email", str(exc)))
            email = None
    external_id = _text(row, "external_id") or None
    if external_id is not None:
        if not isinstance(external_id, str) or not is_clean_text(external_id):
            problems.append(
                _problem(index, "external_id", "invalid_external_id", "Must be plain text.")
            )
        elif len(external_id) > EXTERNAL_ID_MAX:
            problems.append(
                _problem(
                    index,
                    "external_id",
                    "external_id_too_long",
                    f"At most {EXTERNAL_ID_MAX} characters.",
                )
            )
    if email is not None:
        first = seen.setdefault(email.casefold(), index)
        if first != index:
            problems.append(
                _problem(
                    index,
                    "email",
                    "duplicate_in_list",
                    f"The same email as the candidate at index {first}.",
                )
            )
    if problems:
        return None, problems
    return {"name": name, "email": email, "external_id": external_id}, []


def parse_invitation_request(body) -> tuple[list, bool]:
    """The candidates and send_email of a request: a bare list, or {candidates, send_email}."""
    send_email = False
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"candidates", "send_email"})
        if unknown:
            raise ApiError(422, "unknown_field", f"Unknown field '{unknown[0]}'.", field=unknown[0])
        send_email = body.get("send_email", False)
        if not isinstance(send_email, bool):
            raise ApiError(422, "invalid_input", "Must be true or false.", field="send_email")
        if "candidates" not in body:
            raise ApiError(
                422, "missing_candidates", "A list of candidates is required.", field="candidates"
            )
        body = body["candidates"]
    if not isinstance(body, list):
        raise ApiError(
            422, "not_a_list", "The candidates must be a list of objects.", field="candidates"
        )
    if not body:
        raise ApiError(422, "no_candidates", "The list of candidates is empty.", field="candidates")
    if len(body) > MAX_CANDIDATES:
        raise ApiError(
            422,
            "too_many_candidates",
            f"At most {MAX_CANDIDATES} candidates per request ({len(body)} sent).",
            field="candidates",
        )
    return body, send_email


def check_candidates(campaign: Campaign, rows: Sequence) -> list[dict]:
    """Every row checked, then against the campaign; all or nothing: 422 with every problem."""
    if campaign.status != "open":
        raise ApiError(422, "campaign_closed", "The campaign is closed: nobody can be invited.")
    clean, problems, seen = [], [], {}
    for index, row in enumerate(rows):
        checked, row_problems = _check_row(index, row, seen)
        problems.extend(row_problems)
        if checked is not None:
            clean.append((index, checked))
    taken = invitations.already_invited(campaign, [row["email"] for _, row in clean])
    problems.extend(
        _problem(index, "email", "already_invited", "Already has a live link in this campaign.")
        for index, row in clean
        if row["email"].lower() in taken
    )
    if problems:
        problems.sort(key=lambda p: p["index"])
        raise ApiError(
            422,
            "invalid_candidates",
            f"{len({p['index'] for p in problems})} candidate(s) refused; nobody was invited.",
            field="candidates",
            problems=problems,
        )
    return [row for _, row in clean]
