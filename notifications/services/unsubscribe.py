"""One-click unsubscribe (RFC 8058): signed links, headers, and the write that takes effect at once."""

from __future__ import annotations

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from accounts.services import site_url
from notifications.errors import UnsubscribeTokenError
from notifications.models import OutboxMessage, OutboxStatus, Unsubscribe

_SALT = "notifications.unsubscribe"


def unsubscribe_token(*, schema_name: str, candidate_id: int, message_id: int | None) -> str:
    # HMAC-signed with SECRET_KEY: unguessable, and bound to the tenant so it never works on another host.
    return signing.dumps({"s": schema_name, "c": candidate_id, "m": message_id}, salt=_SALT, compress=True)


def unsubscribe_url(*, host: str, schema_name: str, candidate_id: int, message_id: int | None) -> str:
    token = unsubscribe_token(schema_name=schema_name, candidate_id=candidate_id, message_id=message_id)
    return site_url(host=host, path=f"/mail/unsubscribe/{token}/")


def unsubscribe_headers(*, url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_token_read(*, token: str, schema_name: str) -> tuple[int, int | None]:
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature as error:
        raise UnsubscribeTokenError(
            gettext("配信停止リンクが正しくありません。メールのリンクをそのまま開いてください。")
        ) from error
    if not isinstance(data, dict) or data.get("s") != schema_name or not isinstance(data.get("c"), int):
        raise UnsubscribeTokenError(
            gettext("配信停止リンクが正しくありません。メールのリンクをそのまま開いてください。")
        )
    return data["c"], data.get("m")


@transaction.atomic
def unsubscribe_apply(*, token: str, schema_name: str) -> Unsubscribe:
    """Stop marketing mail to this student now: queued marketing rows are suppressed in the same commit."""
    candidate_id, message_id = unsubscribe_token_read(token=token, schema_name=schema_name)
    from candidates.models import Candidate

    if not Candidate.objects.filter(id=candidate_id).exists():
        raise UnsubscribeTokenError(gettext("この配信停止リンクはもう使えません。"))
    source = OutboxMessage.objects.filter(id=message_id).first() if message_id else None
    row, _ = Unsubscribe.objects.get_or_create(candidate_id=candidate_id, defaults={"source_message": source})
    OutboxMessage.objects.filter(
        candidate_id=candidate_id, kind="marketing", status=OutboxStatus.QUEUED
    ).update(status=OutboxStatus.SUPPRESSED, error=gettext_noop("配信停止済みのため送信しませんでした"))
    return row


def is_unsubscribed(*, candidate_id: int) -> bool:
    return Unsubscribe.objects.filter(candidate_id=candidate_id).exists()
