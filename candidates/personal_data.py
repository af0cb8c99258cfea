"""Every place that holds personal data about a student registers here, so a disclosure or erasure misses none.

The candidates app is below booking and notifications and never imports them; instead each app registers,
in its `AppConfig.ready()`, a holder that can collect (for 開示), erase or anonymise (for 削除 and the
retention policy) and stop using (利用停止) what it keeps about a set of candidate ids. The privacy
services (`candidates.services.privacy_data`) call every registered holder inside one transaction.

A holder's functions run in the current tenant's schema and the caller's transaction; they take the ids
of one student (the candidate and the candidates merged into it) and return JSON-safe data or a count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Eraser(Protocol):
    def __call__(self, candidate_ids: list[int], *, keep_statistics: bool) -> int: ...


class Mailer(Protocol):
    def __call__(self, *, key: str, to: str, subject: str, body: str, candidate_id: int | None) -> None: ...


@dataclass(frozen=True)
class PersonalDataHolder:
    """One app's personal data about students.

    `erase` removes what identifies the students; with `keep_statistics` (anonymising) it may keep rows
    that no longer identify anyone (e.g. a booking's attendance for seminar figures). `stop_use` stops
    processing without deleting (no more marketing mail, no step mails); None when nothing applies.
    """

    key: str
    label: Any  # a lazily translated string
    collect: Callable[[list[int]], list[dict[str, Any]]]
    erase: Eraser
    stop_use: Callable[[list[int]], int] | None = None


# Notices to a student who is being erased carry this key prefix: the outbox forgets their address once sent.
ERASED_NOTICE_PREFIX = "privacy-erased:"

_holders: dict[str, PersonalDataHolder] = {}
_mailer: list[Mailer] = []


def holder_register(holder: PersonalDataHolder) -> None:
    """Register (or replace, on a second ready()) one app's holder."""
    _holders[holder.key] = holder


def holders() -> list[PersonalDataHolder]:
    return list(_holders.values())


def mailer_register(mailer: Mailer) -> None:
    """The notifications app registers how a privacy notice reaches a student (through its outbox)."""
    _mailer[:] = [mailer]


def student_mail(*, key: str, to: str, subject: str, body: str, candidate_id: int | None) -> bool:
    """Queue a notice to a student; False when no mailer is registered or there is no address."""
    if not _mailer or not to:
        return False
    _mailer[0](key=key, to=to, subject=subject, body=body, candidate_id=candidate_id)
    return True
