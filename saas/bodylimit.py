"""How large a request body may be, and the ASGI middleware that refuses larger ones before reading them.

The one home of the limits: the nginx template (deploy/layout.py renders `client_max_body_size` from them),
daphne's own guard (saas/serve.py, which refuses before Twisted buffers anything) and `BodyLimitMiddleware`
(any ASGI server that streams bodies to the application, e.g. uvicorn) all read `body_limit`.
Plain dependencies only: deploy/ imports this without Django's settings (the 413 text reads them when sent).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from types import SimpleNamespace
from typing import Any

from django.utils.translation import gettext_noop

MIB = 1024 * 1024
# Forms, JSON and the incoming Sentry hook: far below this.
BODY_MAX_BYTES = 2 * MIB
# Paths that take uploads, exactly: the candidate import (100 MB files, candidates/services/jobs.py) and
# the rank table CSV (2 MB, candidates/services/ranks.py), each with room for the multipart envelope.
UPLOAD_PATHS: dict[str, int] = {
    "/candidates/imports/": 101 * MIB,
    "/candidates/ranks/": 3 * MIB,
    # An エントリーシート attachment (5 MB, selection/services/entrysheets.py), one per request.
    "/my/es/upload/": 6 * MIB,
}

_TOO_LARGE = gettext_noop("リクエストが大きすぎます（413）。ファイルは分割して送ってください。")
# In the default language: servers that refuse before reading the request's headers (saas/serve.py) send this.
TOO_LARGE_TEXT = f"{_TOO_LARGE}\n".encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may have."""
    return UPLOAD_PATHS.get(path, BODY_MAX_BYTES)


def too_large_text(scope: Scope) -> bytes:
    """The 413 text in the language the request asks for (its language cookie, else its Accept-Language)."""
    from django.conf import settings
    from django.utils import translation

    headers = {name: value.decode("latin-1") for name, value in scope.get("headers", [])}
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get(b"cookie", ""))
    except CookieError:
        pass
    cookie = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    request = SimpleNamespace(
        COOKIES={settings.LANGUAGE_COOKIE_NAME: cookie.value} if cookie else {},
        META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", "")},
    )
    with translation.override(translation.get_language_from_request(request)):  # type: ignore[arg-type]
        return f"{translation.gettext(_TOO_LARGE)}\n".encode()


def too_large_response_head(*, keep_alive: bool = False, body: bytes = TOO_LARGE_TEXT) -> bytes:
    """The raw HTTP/1.1 413 answer servers write before they stop reading."""
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: " + connection + b"\r\n\r\n"
    )


class BodyTooLarge(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Answers 413 to a body declared or streamed past its limit, without reading it into memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _answer_too_large(send, scope)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await _answer_too_large(send, scope)


async def _answer_too_large(send: Send, scope: Scope) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": too_large_text(scope)})
