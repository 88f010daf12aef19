"""RGPD: how long candidates' data are kept, their copy of it, and erasure.

retention.py: the retention periods and the purge run by cron; rights.py: erasure on request and
the candidate's copy of their data; anonymise.py: the steps both use to remove a person's
identity (what goes, what stays).
"""

from recruit.services.privacy.anonymise import ERASED, MESSAGE_ERASED, Counts
from recruit.services.privacy.retention import (
    DEFAULT_RETENTION_MONTHS,
    MAX_RETENTION_MONTHS,
    PurgeReport,
    add_months,
    kept_until,
    purge,
    retention_start,
)
from recruit.services.privacy.rights import (
    ADMIN_ERASE_REASONS,
    CANDIDATE_ERASE_REASON,
    candidate_data,
    erase_candidate,
    erased_digest,
    erased_link_language,
)

__all__ = [
    "ADMIN_ERASE_REASONS",
    "CANDIDATE_ERASE_REASON",
    "DEFAULT_RETENTION_MONTHS",
    "ERASED",
    "MAX_RETENTION_MONTHS",
    "MESSAGE_ERASED",
    "Counts",
    "PurgeReport",
    "add_months",
    "candidate_data",
    "erase_candidate",
    "erased_digest",
    "erased_link_language",
    "kept_until",
    "purge",
    "retention_start",
]
