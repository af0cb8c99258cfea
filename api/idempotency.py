"""Idempotency-Key on creating POSTs: the first answer is kept (per token and key) and replayed to retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from api.errors import ApiProblem
from api.services import idempotency_abandon, idempotency_begin, idempotency_finish, request_fingerprint
from api.texts import gettext_lazy

IDEMPOTENCY_DOC = gettext_lazy(
    "作成する POST には Idempotency-Key（任意の一意な文字列）を付けてください。同じキーの再送は最初の結果を返し、"
    "二重に作成しません。/ Send an Idempotency-Key with creating POSTs: a retry with the same key returns "
    "the first result and never creates twice."
)

# Declared in the document where the key is required, so clients and the fuzzer send one.
IDEMPOTENCY_KEY_REQUIRED: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "description": gettext_lazy("必須。一意な文字列 / required, a unique string"),
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    ]
}


def idempotent(
    request: HttpRequest, work: Callable[[], tuple[int, dict[str, Any]]], *, required: bool = False
) -> tuple[int, dict[str, Any]]:
    """Run `work` once per (token, Idempotency-Key); without the header, every request runs it.

    `required`: what cannot be taken back (mail to many students) is never done without a key.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key and required:
        raise ApiProblem("idempotency_key_required", _("Idempotency-Key ヘッダーを付けて送ってください。"))
    if not key:
        return work()
    token = request.auth
    fingerprint = request_fingerprint(method=request.method or "", path=request.path, body=request.body)
    earlier = idempotency_begin(token=token, key=key, fingerprint=fingerprint)
    if earlier is not None:
        request.idempotent_replay = True  # answered with a header
        return earlier.status_code, earlier.body or {}
    try:
        status, body = work()
    except BaseException:
        idempotency_abandon(token=token, key=key)
        raise
    idempotency_finish(token=token, key=key, status_code=status, body=body)
    return status, body
