"""A support account's first authenticator needs a code sent to its e-mail address, not just the password.

Whoever holds a staff password alone must not be able to enrol an authenticator of their own. Before the
set-up page shows a TOTP key, the account's mailbox gets a one-time enrolment code (valid 30 minutes, five
tries, bound to the session that asked for it); only its hash is kept, in that session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from incidents.services.audit import staff_audit
from notifications.services.direct import staff_mail_send

CODE_SECONDS = 30 * 60
CODE_TRIES = 5
RESEND_SECONDS = 60
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_SESSION_KEY = "staff_otp_enrol"
_VERIFIED_KEY = "staff_otp_enrol_verified"


def _digest(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hmac.new(settings.SECRET_KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def enrol_code_send(*, session: Any, user: Any) -> bool:
    """Mail a fresh enrolment code (at most one a minute); True when one was sent."""
    pending = session.get(_SESSION_KEY) or {}
    if pending.get("user") == user.pk and time.time() - pending.get("sent", 0) < RESEND_SECONDS:
        return False
    code = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    session[_SESSION_KEY] = {"user": user.pk, "digest": _digest(code), "sent": time.time(), "tries": 0}
    staff_mail_send(
        to=user.email,
        subject=gettext("【サポート】認証アプリ登録用の確認コード"),
        body=(
            gettext("サポート担当者ページの二要素認証（認証アプリ）の登録が始められました。")
            + "\n\n"
            + gettext("確認コード: %(code)s") % {"code": f"{code[:5]}-{code[5:]}"}
            + "\n\n"
            + gettext(
                "30 分間有効です。心当たりがない場合は、このコードを誰にも伝えず、すぐにパスワードを変更し、"
                "管理者に連絡してください。"
            )
            + "\n"
        ),
    )
    staff_audit(actor=user, action="staff.otp_enrol_code_sent")
    return True


def enrol_code_check(*, session: Any, user: Any, code: str) -> bool:
    """True once the right code was given in this session; wrong tries and age void it."""
    pending = session.get(_SESSION_KEY) or {}
    if pending.get("user") != user.pk or time.time() - pending.get("sent", 0) > CODE_SECONDS:
        return False
    if pending.get("tries", 0) >= CODE_TRIES:
        return False
    if not hmac.compare_digest(pending.get("digest", ""), _digest(code)):
        pending["tries"] = pending.get("tries", 0) + 1
        session[_SESSION_KEY] = pending
        return False
    session.pop(_SESSION_KEY, None)
    session[_VERIFIED_KEY] = user.pk
    return True


def enrol_verified(*, session: Any, user: Any) -> bool:
    return bool(session.get(_VERIFIED_KEY) == user.pk)


def enrol_finished(*, session: Any) -> None:
    session.pop(_VERIFIED_KEY, None)
