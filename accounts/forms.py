"""Sign-in with an optional TOTP code and per-tenant throttling of repeated failures."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.db import connection
from django_otp import devices_for_user

from accounts.models import Role
from tenants.selectors import current_schema

FAILURE_LIMIT = 5  # per e-mail address
IP_FAILURE_LIMIT = 30  # per client address: a whole office may share one
FAILURE_WINDOW_SECONDS = 15 * 60


class ThrottledError(forms.ValidationError):
    pass


def _failure_keys(*, email: str, ip: str) -> list[str]:
    # The schema in the key (on top of the tenant-aware key function): a company's lock-outs
    # never touch another company's recruiters, and the e-mail is hashed, never stored as is.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    # The database name too: test runs on one shared cache must not throttle each other.
    scope = f"{connection.settings_dict['NAME']}:{current_schema()}"
    return [f"login-fail:{scope}:user:{digest}", f"login-fail:{scope}:ip:{ip}"]


def login_throttled(*, email: str, ip: str) -> bool:
    user_key, ip_key = _failure_keys(email=email, ip=ip)
    return (cache.get(user_key) or 0) >= FAILURE_LIMIT or (cache.get(ip_key) or 0) >= IP_FAILURE_LIMIT


def login_failure_record(*, email: str, ip: str) -> None:
    for key in _failure_keys(email=email, ip=ip):
        if not cache.add(key, 1, FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, FAILURE_WINDOW_SECONDS)


def login_failures_clear(*, email: str, ip: str) -> None:
    cache.delete_many(_failure_keys(email=email, ip=ip))


class TenantAuthenticationForm(AuthenticationForm):
    otp_token = forms.CharField(label="確認コード（2段階認証）", required=False, max_length=10)

    error_messages = {
        "invalid_login": "メールアドレスまたはパスワードが正しくありません。",
        "inactive": "このアカウントは無効になっています。",
        "otp": "確認コードが正しくありません。認証アプリの6桁のコードを入力してください。",
        "throttled": "ログインの失敗が続いたため、一時的にログインできません。15分ほど待ってからお試しください。",
        "role": "このアカウントではログインできません。",
    }

    def _ip(self) -> str:
        return (self.request.META.get("REMOTE_ADDR") if self.request else "") or "unknown"

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        if login_throttled(email=email, ip=self._ip()):
            raise ThrottledError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
            user = self.get_user()
            if user is not None and user.role not in (Role.ADMIN, Role.RECRUITER, Role.VIEWER):
                raise forms.ValidationError(self.error_messages["role"], code="role")
            self._verify_otp(user)
        except forms.ValidationError:
            login_failure_record(email=email, ip=self._ip())
            raise
        cache.delete(_failure_keys(email=email, ip=self._ip())[0])
        return cleaned

    def _verify_otp(self, user) -> None:
        devices = list(devices_for_user(user, confirmed=True)) if user is not None else []
        if not devices:
            return
        token = (self.cleaned_data.get("otp_token") or "").strip()
        for device in devices:
            if token and device.verify_token(token):
                user.otp_device = device  # django_otp.login() runs on the user_logged_in signal
                return
        raise forms.ValidationError(self.error_messages["otp"], code="otp")
