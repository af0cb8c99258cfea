"""Forms of the support staff's tenant pages."""

from django import forms
from django.utils.translation import gettext_lazy as _


class TenantCreateForm(forms.Form):
    name = forms.CharField(label=_("会社名"), max_length=200)
    slug = forms.CharField(label=_("サブドメイン"), max_length=40, help_text=_("例: acme → acme.<ドメイン>"))
    admin_email = forms.EmailField(label=_("最初の管理者のメールアドレス"))


class TenantDeleteForm(forms.Form):
    confirm_slug = forms.CharField(label=_("確認のためサブドメインを入力"), max_length=40)
