"""Sign-in with an optional TOTP code; repeated failures are throttled (accounts/throttle.py)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user

from accounts import throttle
from accounts.models import Role


class ThrottledError(forms.ValidationError):
    pass


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form with repeated failures throttled (recruiters and support staff)."""

    error_messages = {
        "invalid_login": _("メールアドレスまたはパスワードが正しくありません。"),
        "inactive": _("このアカウントは無効になっています。"),
        "otp": _("確認コードが正しくありません。認証アプリの6桁のコードを入力してください。"),
        "throttled": _(
            "ログインの失敗が続いたため、一時的にログインできません。15分ほど待ってからお試しください。"
        ),
        "role": _("このアカウントではログインできません。"),
    }

    attempt: throttle.Attempt | None = None

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        self.attempt = throttle.attempt_for(request=self.request, email=email)
        if throttle.signin_throttled(self.attempt):
            raise ThrottledError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
            self.check_user(self.get_user())
        except forms.ValidationError:
            throttle.signin_failure_record(self.attempt)
            raise
        return cleaned

    def check_user(self, user) -> None:
        """More checks on a user whose password was right; raise ValidationError to refuse."""


class TenantAuthenticationForm(ThrottledAuthenticationForm):
    otp_token = forms.CharField(label=_("確認コード（2段階認証）"), required=False, max_length=10)

    def check_user(self, user) -> None:
        # Interviewers sign in to their own pages (今日の面接, the evaluation form); any other role is refused.
        if user is not None and user.role not in (Role.ADMIN, Role.RECRUITER, Role.VIEWER, Role.INTERVIEWER):
            raise forms.ValidationError(self.error_messages["role"], code="role")
        self._verify_otp(user)

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


class InviteForm(forms.Form):
    """A new recruiter of the company: where the invitation goes, a display name and a role."""

    email = forms.EmailField(label=_("メールアドレス"))
    display_name = forms.CharField(label=_("表示名"), required=False, max_length=100)
    role = forms.ChoiceField(label=_("権限"), choices=Role.choices, initial=Role.RECRUITER)
