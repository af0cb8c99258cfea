"""Account writes: invitations and password set-up links."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User


def site_url(*, host: str, path: str) -> str:
    """Absolute URL on a host of this deployment (scheme and port from settings)."""
    scheme = "https" if settings.HTTPS else "http"
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{scheme}://{host}{port}{path}"


def password_set_url(*, user: User, host: str) -> str:
    # Django's reset token: unguessable, expires (PASSWORD_RESET_TIMEOUT), void once the password changes.
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return site_url(host=host, path=f"/accounts/password/{uid}/{token}/")


def user_invite(*, user: User, tenant) -> str:
    """E-mail the user a link to choose a password on their company's host; returns the link."""
    host = tenant.get_primary_domain().domain
    url = password_set_url(user=user, host=host)
    subject = f"[{tenant.name}] 採用管理システムへの招待"
    body = (
        f"{tenant.name} の採用管理システムに招待されました。\n\n"
        f"次のリンクからパスワードを設定してください（{settings.PASSWORD_RESET_TIMEOUT // 86400} 日間有効）:\n{url}\n"
    )
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email], fail_silently=False))
    return url
