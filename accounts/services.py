"""Account writes: invitations and password set-up links."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.errors import AccountError
from accounts.models import Role, User

if TYPE_CHECKING:
    from tenants.models import Tenant


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


def user_invite(*, user: User, tenant: Tenant) -> str:
    """E-mail the user a link to choose a password on their company's host; returns the link."""
    host = tenant.get_primary_domain().domain
    url = password_set_url(user=user, host=host)
    # The new user has chosen no language yet: the company's default, unless they have one.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = _("[%(company)s] 採用管理システムへの招待") % {"company": tenant.name}
        body = _(
            "%(company)s の採用管理システムに招待されました。\n\n"
            "次のリンクからパスワードを設定してください（%(days)s 日間有効）:\n%(url)s\n"
        ) % {"company": tenant.name, "days": settings.PASSWORD_RESET_TIMEOUT // 86400, "url": url}
    transaction.on_commit(lambda: send_mail(subject, body, None, [user.email], fail_silently=False))
    return url


@transaction.atomic
def recruiter_invite(*, email: str, role: str, display_name: str, tenant: Tenant) -> User:
    """Create a recruiter of this company (no password yet) and e-mail them a set-up link."""
    from accounts.errors import AccountError
    from accounts.models import Role

    address = email.strip().lower()
    if role not in Role.values:
        raise AccountError(_("権限が正しくありません。"))
    if User.objects.filter(email__iexact=address).exists():
        raise AccountError(_("このメールアドレスはすでに登録されています。"))
    user = User.objects.create_user(
        username=address, email=address, password=None, role=role, display_name=display_name.strip()[:100]
    )
    user_invite(user=user, tenant=tenant)
    return user


@transaction.atomic
def recruiter_update(*, user_id: int, role: str, is_active: bool, acting: User) -> User:
    """Change a recruiter's role or deactivate them; a company always keeps an active admin."""
    from accounts.errors import AccountError
    from accounts.models import Role

    if role not in Role.values:
        raise AccountError(_("権限が正しくありません。"))
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise AccountError(_("担当者が見つかりません。"))
    losing_admin = user.role == Role.ADMIN and (role != Role.ADMIN or not is_active)
    if losing_admin:
        admins = User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
        if not admins.exists():
            raise AccountError(_("有効な管理者が1人もいなくなるため変更できません。"))
    if user.pk == acting.pk and not is_active:
        raise AccountError(_("自分自身は無効にできません。"))
    user.role, user.is_active = role, is_active
    user.save(update_fields=["role", "is_active"])
    return user


@transaction.atomic
def totp_device_confirm(*, user: User, token: str) -> bool:
    """Confirm the user's pending TOTP device with a first code; True when confirmed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None or not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    return True


def totp_device_pending(*, user: User):  # type: ignore[no-untyped-def]
    """The unconfirmed device being set up (created on first call)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=_("認証アプリ"), confirmed=False)


@transaction.atomic
def totp_device_remove(*, user: User, token: str, tenant: Tenant) -> None:
    """Turn the second factor off: only with a current code, and never where the company requires it."""
    from django_otp import match_token
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.selectors import tenant_totp_required

    if tenant_totp_required(tenant_id=tenant.pk):
        raise AccountError(_("会社の設定で2段階認証が必須のため、解除できません。"))
    if match_token(user, token.strip()) is None:
        raise AccountError(
            _("確認コードが正しくありません。解除するには認証アプリの現在のコードを入力してください。")
        )
    TOTPDevice.objects.filter(user=user).delete()


@transaction.atomic
def tenant_totp_requirement_set(*, tenant: Tenant, required: bool, acting: User) -> None:
    """An admin requires (or stops requiring) the second factor of every recruiter of the company."""
    if acting.role != Role.ADMIN:
        raise AccountError(_("管理者のみが変更できます。"))
    # Every process reads the flag fresh (tenants.selectors.tenant_totp_required), not from its cached Tenant.
    from tenants.selectors import tenant_totp_required_forget

    type(tenant).objects.filter(pk=tenant.pk).update(recruiter_totp_required=required)
    tenant_totp_required_forget(tenant_id=tenant.pk)


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language a recruiter (or support staff member) chose; every later page is in it."""
    if language not in dict(settings.LANGUAGES):
        raise AccountError(_("対応していない言語です。"))
    user.language = language
    user.save(update_fields=["language"])
