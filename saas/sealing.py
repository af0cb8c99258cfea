"""Secrets sealed at rest: webhook signing secrets and TOTP keys are stored encrypted, never in clear.

AES-256-GCM from `cryptography` (the well-kept library the backups' tooling already pulls in). Not Fernet:
its tokens (~140 characters for a TOTP key) do not fit django-otp's 80-character key column, while a
GCM-sealed TOTP key takes 67. The key is derived with HKDF from `SECRET_KEY` (and each of
`SECRET_KEY_FALLBACKS`, so rotating the secret key keeps old rows readable): it is never stored in the
database, so a copy of the database (a dump, a backup, a replica) holds no usable secret.
Each value is bound to its column (associated data), so a sealed value copied into another column does
not open. Stored form: ``s1:`` + URL-safe base64 of nonce, ciphertext and tag.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

PREFIX = "s1:"


class SealError(Exception):
    pass


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"saas sealed fields v1").derive(
        secret.encode()
    )


def _keys() -> list[bytes]:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_key(secret) for secret in secrets if secret]


def seal(value: str, *, purpose: str, hex_value: bool = False) -> str:
    """`hex_value`: the clear value is hexadecimal and is sealed as the bytes it spells (half the size)."""
    nonce = os.urandom(12)
    clear = bytes.fromhex(value) if hex_value else value.encode()
    sealed = AESGCM(_keys()[0]).encrypt(nonce, clear, purpose.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def unseal(value: str, *, purpose: str, hex_value: bool = False) -> str:
    raw = value.removeprefix(PREFIX)
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    for key in _keys():
        try:
            clear = AESGCM(key).decrypt(data[:12], data[12:], purpose.encode())
        except InvalidTag:
            continue
        return clear.hex() if hex_value else clear.decode()
    raise SealError("sealed value does not open with this installation's keys")


def _column(field: models.Field) -> str:
    return f"{field.model._meta.label_lower}.{field.name}"


def from_db(field: models.Field, value: Any, *, hex_value: bool = False) -> Any:
    """A row's value in clear; rows written before sealing (clear text) are read as they are."""
    if isinstance(value, str) and is_sealed(value):
        return unseal(value, purpose=_column(field), hex_value=hex_value)
    return value


def to_db(field: models.Field, value: Any, *, hex_value: bool = False) -> Any:
    if isinstance(value, str) and value and not is_sealed(value):
        return seal(value, purpose=_column(field), hex_value=hex_value)
    return value


class SealedCharField(models.CharField):
    """A CharField stored sealed; in Python it is the clear value. Not searchable or orderable in SQL."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return from_db(self, value)

    def get_prep_value(self, value: Any) -> Any:
        return to_db(self, super().get_prep_value(value))


def seal_existing_field(field: models.Field, *, hex_value: bool = False) -> None:
    """Seal a third-party model's column in place (the field keeps its class and migrations)."""

    def from_db_value(value: Any, expression: Any, connection: Any) -> Any:
        return from_db(field, value, hex_value=hex_value)

    original = field.get_prep_value

    def get_prep_value(value: Any) -> Any:
        return to_db(field, original(value), hex_value=hex_value)

    field.from_db_value = from_db_value
    field.get_prep_value = get_prep_value  # type: ignore[method-assign]
