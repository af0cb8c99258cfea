"""Step 1 of the rush pipeline: the request, as little of it as the decision reads.

On the rush workers a booking is read straight from the ASGI scope (RushRequest: six headers, the cookies,
the body); under Django (make demo, the workers' thread path) the same attributes come from Django's
request. Either way the decision (booking/rush/decide.py) sees the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from cachetools import LRUCache
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import QueryDict
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.utils import translation

from booking.rush import passes
from saas.clientaddress import from_trusted_proxy

_META_NAMES = {
    b"host": "HTTP_HOST",
    b"cookie": "HTTP_COOKIE",
    b"origin": "HTTP_ORIGIN",
    b"x-requested-with": "HTTP_X_REQUESTED_WITH",
    b"x-request-start": "HTTP_X_REQUEST_START",
    b"content-type": "CONTENT_TYPE",
    b"accept-language": "HTTP_ACCEPT_LANGUAGE",
}
MAX_BODY = 16 * 1024
_hosts_valid: LRUCache[str, bool] = LRUCache(maxsize=10_000)  # bounded: made-up hosts evict the least used


class RushRequest:
    """What the decision reads from a booking request, taken straight from the ASGI scope.

    Building Django's full request (every header into META, the stream, the lazy attributes) cost more than
    deciding the seat; this carries the seven headers the decision reads. The host is checked against
    ALLOWED_HOSTS exactly as HttpRequest.get_host() does. The threaded way builds the full request.
    """

    __slots__ = ("method", "META", "COOKIES", "body", "content_type")

    def __init__(self, scope: dict, body: bytes) -> None:
        meta = {}
        for name, value in scope["headers"]:
            key = _META_NAMES.get(name)
            if key is not None:
                meta[key] = value.decode("latin-1")
        client = scope.get("client")
        meta["REMOTE_ADDR"] = client[0] if client else ""
        self.META = meta
        self.method = scope["method"]
        self.body = body
        self.content_type = meta.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        self.COOKIES = parse_cookie(meta.get("HTTP_COOKIE", ""))

    def get_host(self) -> str:
        host = self.META.get("HTTP_HOST", "")
        valid = _hosts_valid.get(host)
        if valid is None:
            domain, _port = split_domain_port(host)
            valid = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
            _hosts_valid[host] = valid
        if not valid:
            raise DisallowedHost(host)
        return host

    @property
    def POST(self) -> QueryDict:
        if self.content_type == "application/x-www-form-urlencoded":
            return QueryDict(self.body, encoding="utf-8")
        return QueryDict()


async def body_read(receive) -> bytes | None:
    """The request body from the ASGI `receive` (empty past MAX_BODY: nothing the rush path reads is longer;
    None when the client went away)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b""
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def proxy_received_at(request: Any) -> float | None:
    """When the proxy received the request (X-Request-Start: t=<seconds>), only if a trusted proxy says so."""
    header = request.META.get("HTTP_X_REQUEST_START", "")
    if not header.startswith("t=") or not from_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
        return None
    try:
        return float(header[2:])
    except ValueError:
        return None


def same_origin(request: Any) -> bool:
    """Cross-site forms cannot set a custom header; an Origin, when sent, must be this host."""
    # META rather than request.headers: the latter copies every header into a new mapping first.
    if request.META.get("HTTP_X_REQUESTED_WITH") != "rush":
        return False
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == request.get_host()


def slot_from(request: Any) -> str:
    """The slot the student asks for (JSON from the page's script, or a form)."""
    if request.content_type == "application/json":
        try:
            return str(json.loads(request.body or b"{}").get("slot", ""))
        except (ValueError, AttributeError):
            return ""
    return request.POST.get("slot", "")


def student_of(request: Any, *, schema: str) -> passes.StudentPass | None:
    """The student of the signed pass cookie, if genuine, of this company and current."""
    return passes.student_pass_read(schema=schema, value=request.COOKIES.get(passes.STUDENT_COOKIE))


def language_of(request: Any) -> str:
    """The student's language for this rush request: their choice (the language cookie), else the browser's
    Accept-Language, else the default. The rush path answers ahead of LocaleMiddleware, so it asks itself.

    Django's answer depends on those two values and the settings alone; a rush process sees a few dozen
    pairs, so each is worked out once (bounded: a flood of made-up headers empties the memo, no more)."""
    key = (
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
        request.META.get("HTTP_ACCEPT_LANGUAGE"),
        settings.LANGUAGE_CODE,
    )
    found = _languages.get(key)
    if found is None:
        found = translation.get_language_from_request(request, check_path=False)
        if len(_languages) >= 4096:
            _languages.clear()
        _languages[key] = found
    return found


_languages: dict[tuple[str | None, str | None, str], str] = {}
