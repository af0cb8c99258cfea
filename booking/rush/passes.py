"""Signed passes of the booking rush: who the student is, and that the waiting room let them in.

The rush path answers without a session read: the student pass (a cookie set on the My Page) carries the
student's id, rank, season, whether they hold an offer, and sign-in time, encrypted and authenticated (AES-GCM, a key derived from SECRET_KEY)
with the tenant's schema as associated data: the student cannot read their rank from it, and a pass from
one company is worthless on another. The room pass says "admitted from the queue", signed over the tenant,
seminar and student, and lives two minutes. Neither can be forged without SECRET_KEY.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

STUDENT_COOKIE = "rush_pass"
ROOM_COOKIE = "rush_room"
# Which proxy-cached copy of the rush page a student's browser may be served (see view_token).
VIEW_COOKIE = "rush_view"
VIEW_WINDOW_SECONDS = 3600
STUDENT_SECONDS = 15 * 60
ROOM_SECONDS = 120


@dataclass(frozen=True)
class StudentPass:
    candidate_id: int
    rank: str
    issued_at: int
    # What booking/rules.py's audience rule asks: the student's season, and whether they hold an offer.
    season_id: int
    offer_holder: bool


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


def _room_signer(schema: str) -> signing.TimestampSigner:
    return _signer(f"booking.rush.room:{schema}", settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def _student_ciphers() -> list[AESGCM]:
    # One AES-GCM key per SECRET_KEY (current first, then fallbacks), derived once.
    return _ciphers(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=8)
def _ciphers(key: str, fallbacks: tuple[str, ...]) -> list[AESGCM]:
    return [
        AESGCM(hashlib.sha256(force_bytes("booking.rush.student-pass:" + one)).digest())
        for one in (key, *fallbacks)
    ]


def student_pass_issue(
    *,
    schema: str,
    candidate_id: int,
    rank: str,
    season_id: int,
    offer_holder: bool = False,
    issued_at: int | None = None,
) -> str:
    """An opaque pass: student id, rank, season, offer holder or not, and issue time, encrypted and authenticated (AES-GCM) for this company.

    The student holds it but cannot read it (the rank stays the company's secret, as on the My Page) nor
    change it; the company's schema is the associated data, so a pass of company A does not open on B.
    """
    nonce = os.urandom(12)
    issued = int(time.time()) if issued_at is None else issued_at
    plain = f"{candidate_id}.{rank}.{issued}.{season_id}.{int(offer_holder)}".encode()
    sealed = _student_ciphers()[0].encrypt(nonce, plain, schema.encode())
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def student_pass_read(*, schema: str, value: str | None) -> StudentPass | None:
    """The pass if it is genuine, of this tenant and not expired; otherwise None."""
    if not value or len(value) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None
    if len(raw) < 12 + 16:
        return None
    for cipher in _student_ciphers():
        try:
            plain = cipher.decrypt(raw[:12], raw[12:], schema.encode())
        except InvalidTag:
            continue
        try:
            # A pass of the earlier layout (no season) does not split in five: the student is simply
            # given a new one by their next My Page page.
            candidate, rank, issued, season, holder = plain.decode().split(".")
            found = StudentPass(
                candidate_id=int(candidate),
                rank=rank,
                issued_at=int(issued),
                season_id=int(season),
                offer_holder=holder == "1",
            )
        except ValueError:
            return None
        if not 0 <= time.time() - found.issued_at <= STUDENT_SECONDS:
            return None
        return found
    return None


def view_token(*, schema: str, rank: str, issued_at: int) -> str:
    """The key of the proxy's copy of the rush page this pass may be served: one per company, rank and hour.

    An HMAC (the rank cannot be read from it), set beside the pass. The proxy keeps a rank's page only when
    the request's view token is the one of its pass's rank (booking/rush/pages.py), so a copied token never
    files one rank's page under another's.
    """
    window = issued_at // VIEW_WINDOW_SECONDS
    mac = hmac.new(_view_key(settings.SECRET_KEY), f"{schema}\0{rank}\0{window}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


@functools.lru_cache(maxsize=4)
def _view_key(key: str) -> bytes:
    return hashlib.sha256(force_bytes("booking.rush.view:" + key)).digest()


def student_cookies_issue(
    *, schema: str, candidate_id: int, rank: str, season_id: int, offer_holder: bool = False
) -> dict[str, str]:
    """The rush cookies of a signed-in student: the sealed pass and its view token (same issue time)."""
    issued = int(time.time())
    return {
        STUDENT_COOKIE: student_pass_issue(
            schema=schema,
            candidate_id=candidate_id,
            rank=rank,
            season_id=season_id,
            offer_holder=offer_holder,
            issued_at=issued,
        ),
        VIEW_COOKIE: view_token(schema=schema, rank=rank, issued_at=issued),
    }


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
