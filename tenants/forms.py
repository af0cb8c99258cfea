"""Forms of the support staff's tenant pages."""

from django import forms


class TenantCreateForm(forms.Form):
    name = forms.CharField(label="会社名", max_length=200)
    slug = forms.CharField(label="サブドメイン", max_length=40, help_text="例: acme → acme.<ドメイン>")
    admin_email = forms.EmailField(label="最初の管理者のメールアドレス")


class TenantDeleteForm(forms.Form):
    confirm_slug = forms.CharField(label="確認のためサブドメインを入力", max_length=40)
