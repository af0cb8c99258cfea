"""Sentry set-up: errors tagged with the tenant, scrubbed of personal data before they leave the process."""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from saas.redact import secrets_redact

FILTERED = "[Filtered]"
EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")
# Japanese phone numbers in any common shape: 090-1234-5678, 03(1234)5678, +81 90 1234 5678, 09012345678.
PHONE_RE = re.compile(r"(\+81[\s\-]?|0)\d{1,4}[\s\-(]*\d{1,4}[\s\-)]*\d{3,4}")
# Keys whose values are personal data wherever they appear (form fields, extra, contexts, breadcrumbs).
# i18n: data — Japanese field names to recognise, not text anyone reads
PERSONAL_KEYS = re.compile(
    r"(name|kana|mei|sei|shimei|email|mail|phone|tel|mobile|birth|address|university|school|"
    r"password|token|secret|cookie|session|csrf|authorization|氏名|姓|名|カナ|メール|電話|生年月日|住所|大学)",
    re.IGNORECASE,
)
KEEP_HEADERS = {"host", "user-agent", "content-type", "content-length", "accept-language"}
# In an exception's or a log line's own words, names come as Japanese text or as quoted values
# (`<Candidate: 山田 太郎>`, `Key (family_name)=(Yamada)`, `'Taro'`): both are replaced.
NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+(?:[\s　]+[^\x00-\x7f]+)*")  # i18n: data — the ideographic space
QUOTED_RE = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|(?<=\)=\()[^)\n]*(?=\))")


def scrub_text(text: str) -> str:
    """E-mail addresses, phone numbers and the tokens of link paths (saas/redact.py) replaced."""
    return secrets_redact(PHONE_RE.sub(FILTERED, EMAIL_RE.sub(FILTERED, text)))


def scrub_words(text: str) -> str:
    """`scrub_text`, and the parts of free text that may be a name: Japanese text and quoted values."""
    return QUOTED_RE.sub(FILTERED, NON_ASCII_RE.sub(FILTERED, scrub_text(text)))


def _scrub(value: Any, *, key: str = "") -> Any:
    if key and PERSONAL_KEYS.search(key):
        return FILTERED
    if isinstance(value, dict):
        return {k: _scrub(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in KEEP_HEADERS}
        if "url" in request:
            request["url"] = scrub_text(str(request["url"]))
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for section in ("extra", "contexts", "breadcrumbs"):
        if section in event:
            event[section] = _scrub(event[section])
    if isinstance(event.get("transaction"), str):
        event["transaction"] = scrub_text(event["transaction"])
    if isinstance(event.get("message"), str):
        event["message"] = scrub_words(event["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        event["logentry"] = {
            "message": scrub_words(str(logentry.get("formatted") or logentry.get("message") or "")),
            "params": [],
        }
    for exception in (event.get("exception") or {}).get("values", []):
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_words(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
            # Source lines around the failure can hold literals (test data, fixtures): scrub them too.
            if isinstance(frame.get("context_line"), str):
                frame["context_line"] = scrub_text(frame["context_line"])
            for key in ("pre_context", "post_context"):
                if isinstance(frame.get(key), list):
                    frame[key] = [scrub_text(line) for line in frame[key]]
    return event


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    # SQL breadcrumbs carry parameters (e-mails, names): keep only the category.
    if crumb.get("category") == "query":
        return None
    return _scrub(crumb)


def sentry_init(*, dsn: str, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=before_send,  # type: ignore[arg-type]  # sentry's Event is a TypedDict of this dict
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=0.0,
    )
