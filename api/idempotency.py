"""Idempotency-Key on creating POSTs: the first answer is kept (per token and key) and replayed to retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from api.services import idempotency_abandon, idempotency_begin, idempotency_finish, request_fingerprint

IDEMPOTENCY_DOC = (
    "作成する POST には Idempotency-Key（任意の一意な文字列）を付けてください。同じキーの再送は最初の結果を返し、"
    "二重に作成しません。/ Send an Idempotency-Key with creating POSTs: a retry with the same key returns "
    "the first result and never creates twice."
)


def idempotent(
    request: HttpRequest, work: Callable[[], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any]]:
    """Run `work` once per (token, Idempotency-Key); without the header, every request runs it."""
    key = request.headers.get("Idempotency-Key", "").strip()
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
