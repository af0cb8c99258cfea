"""Signed passes of the booking rush: who the student is, and that the waiting room let them in.

The rush path answers without a session read: the student pass (a cookie set on the My Page) carries the
student's id, rank and sign-in time, signed with HMAC-SHA256 under a salt that names the tenant's schema,
so a pass from one company is worthless on another. The page of a rank is public content behind an
unguessable address (an HMAC of tenant, seminar and rank), so a proxy can cache it. The room pass says "admitted from the queue", bound to
the tenant, seminar and student, and lives two minutes. Neither can be forged without SECRET_KEY.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes

STUDENT_COOKIE = "rush_pass"
ROOM_COOKIE = "rush_room"
STUDENT_SECONDS = 15 * 60
ROOM_SECONDS = 120


@dataclass(frozen=True)
class StudentPass:
    candidate_id: int
    rank: str
    issued_at: int


class _KeyedTimestampSigner(signing.TimestampSigner):
    """Django's TimestampSigner, with each key's HMAC key derived once instead of on every signature.

    Produces exactly the signatures of signing.TimestampSigner (salted_hmac: the HMAC key is the hash of
    salt + secret); tests check both ways.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._macs: dict[str, hmac.HMAC] = {}

    def signature(self, value, key=None) -> str:
        key = key or self.key
        mac = self._macs.get(key)
        if mac is None:
            hasher = getattr(hashlib, self.algorithm)
            derived = hasher(force_bytes(str(self.salt) + "signer") + force_bytes(key)).digest()
            mac = self._macs[key] = hmac.new(derived, digestmod=hasher)
        one = mac.copy()
        one.update(force_bytes(value))
        return signing.b64_encode(one.digest()).decode()


@functools.lru_cache(maxsize=4096)
def _signer(salt: str, key: str, fallbacks: tuple[str, ...]) -> signing.TimestampSigner:
    return _KeyedTimestampSigner(key=key, fallback_keys=list(fallbacks), salt=salt)


def _student_signer(schema: str) -> signing.TimestampSigner:
    # One signer per company and keys (the keys are part of the cache key, so a rotation takes effect).
    return _signer(
        f"booking.rush.student:{schema}", settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS)
    )


def _room_signer(schema: str) -> signing.TimestampSigner:
    return _signer(f"booking.rush.room:{schema}", settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def student_pass_issue(*, schema: str, candidate_id: int, rank: str) -> str:
    return _student_signer(schema).sign(f"{candidate_id}.{rank}.{int(time.time())}")


def student_pass_read(*, schema: str, value: str | None) -> StudentPass | None:
    """The pass if it is genuine, of this tenant and not expired; otherwise None."""
    if not value or len(value) > 200:
        return None
    try:
        raw = _student_signer(schema).unsign(value, max_age=STUDENT_SECONDS)
        candidate, rank, issued = raw.split(".")
        return StudentPass(candidate_id=int(candidate), rank=rank, issued_at=int(issued))
    except (signing.BadSignature, ValueError):
        return None


def room_pass_issue(*, schema: str, seminar_id: int, candidate_id: int, ticket: int) -> str:
    return _room_signer(schema).sign(f"{seminar_id}.{candidate_id}.{ticket}")


def room_pass_valid(*, schema: str, value: str | None, seminar_id: int, candidate_id: int) -> bool:
    """True if this room pass was issued to this student for this seminar of this tenant, recently."""
    if not value or len(value) > 200:
        return False
    try:
        raw = _room_signer(schema).unsign(value, max_age=ROOM_SECONDS)
        seminar, candidate, _ticket = raw.split(".")
        return int(seminar) == seminar_id and int(candidate) == candidate_id
    except (signing.BadSignature, ValueError):
        return False


def page_signature(*, schema: str, seminar_id: int, rank: str) -> str:
    """The unguessable part of a rank's rush page address (the page itself holds nothing personal)."""
    return salted_hmac("booking.rush.page", f"{schema}:{seminar_id}:{rank}", algorithm="sha256").hexdigest()[
        :20
    ]


def page_signature_valid(*, schema: str, seminar_id: int, rank: str, signature: str) -> bool:
    return constant_time_compare(page_signature(schema=schema, seminar_id=seminar_id, rank=rank), signature)


def page_path(*, schema: str, seminar_id: int, rank: str) -> str:
    return (
        f"/my/rush/{seminar_id}/p/{rank}-{page_signature(schema=schema, seminar_id=seminar_id, rank=rank)}/"
    )
