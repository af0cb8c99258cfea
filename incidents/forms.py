"""Forms of the support pages and the company pages (validation only; writes go through services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from incidents.models import (
    Component,
    ComponentStatus,
    DataCategory,
    Impact,
    MessageTemplate,
    Scope,
    State,
    Visibility,
)
from incidents.services.appi import REPORT_ITEMS
from tenants.selectors import tenant_all

# i18n: data — what a template's {component} reads in the Japanese message (the English one has its own)
SOME_FEATURES_JA = "一部の機能"


def _tenants():
    return tenant_all().order_by("name")


class IncidentCreateForm(forms.Form):
    title = forms.CharField(label=_("件名"), max_length=200)
    impact = forms.ChoiceField(label=_("影響度"), choices=Impact.choices, initial=Impact.MINOR)
    components = forms.ModelMultipleChoiceField(
        label=_("影響する機能"),
        queryset=Component.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    component_status = forms.ChoiceField(
        label=_("機能の状態"),
        choices=[("", _("影響度から決める"))] + list(ComponentStatus.choices),
        required=False,
    )
    scope = forms.ChoiceField(label=_("影響を受ける企業"), choices=Scope.choices[:2], initial=Scope.ALL)
    tenants = forms.ModelMultipleChoiceField(label=_("企業（選択時）"), queryset=_tenants(), required=False)
    visibility = forms.ChoiceField(label=_("公開範囲"), choices=Visibility.choices, initial=Visibility.DRAFT)
    message_ja = forms.CharField(label=_("本文（日本語）"), widget=forms.Textarea(attrs={"rows": 4}))
    message_en = forms.CharField(
        label=_("本文（英語・任意）"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    is_data_incident = forms.BooleanField(label=_("個人データの漏えい等事案"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenants"].queryset = _tenants()


class IncidentUpdateForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("テンプレート"),
        queryset=MessageTemplate.objects.all(),
        required=False,
        empty_label=_("（使わない）"),
    )
    state = forms.ChoiceField(label=_("状態"), choices=State.choices)
    message_ja = forms.CharField(
        label=_("本文（日本語）"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    message_en = forms.CharField(
        label=_("本文（英語・任意）"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def clean(self):
        data = super().clean()
        template = data.get("template")
        if template is not None:
            data["message_ja"] = data.get("message_ja") or template.message_ja.replace(
                "{component}", SOME_FEATURES_JA
            )
            data["message_en"] = data.get("message_en") or template.message_en.replace(
                "{component}", "some features"
            )
        if not (data.get("message_ja") or "").strip():
            raise forms.ValidationError(gettext("本文（日本語）を入力するか、テンプレートを選んでください。"))
        return data


class PublishForm(forms.Form):
    visibility = forms.ChoiceField(label=_("公開範囲"), choices=Visibility.choices[1:])


class PostmortemForm(forms.Form):
    text = forms.CharField(label=_("事後報告（Markdown）"), widget=forms.Textarea(attrs={"rows": 8}))


class ComponentForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    slug = forms.SlugField(label=_("識別子"), max_length=40)
    status = forms.ChoiceField(label=_("状態"), choices=ComponentStatus.choices)
    affects_booking = forms.BooleanField(label=_("説明会予約・マイページに影響"), required=False)
    position = forms.IntegerField(label=_("表示順"), min_value=0, initial=0)


class MaintenanceForm(forms.Form):
    title = forms.CharField(label=_("件名"), max_length=200)
    message_ja = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 3}))
    starts_at = forms.DateTimeField(
        label=_("開始予定"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("終了予定"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    components = forms.ModelMultipleChoiceField(
        label=_("対象の機能"),
        queryset=Component.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class LeakReportForm(forms.Form):
    tenant = forms.ModelChoiceField(label=_("企業"), queryset=_tenants())
    note = forms.CharField(
        label=_("内容（個人名は書かないでください）"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = _tenants()


class TenantLeakReportForm(forms.Form):
    note = forms.CharField(
        label=_("内容（個人名は書かないでください）"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
    )


class ClassifyForm(forms.Form):
    aware_at = forms.DateTimeField(
        label=_("事態を把握した日時"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    categories = forms.MultipleChoiceField(
        label=_("データの項目"),
        choices=DataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sensitive = forms.BooleanField(label=_("要配慮個人情報を含む"), required=False)
    financial_risk = forms.BooleanField(label=_("財産的被害のおそれ"), required=False)
    malicious = forms.BooleanField(label=_("不正の目的によるおそれ（不正アクセス等）"), required=False)


class ChecklistForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label in REPORT_ITEMS:
            self.fields[key] = forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("送信先 URL"), max_length=500, assume_scheme="https")


class StudentNoticeForm(forms.Form):
    subject = forms.CharField(label=_("件名"), max_length=200)
    body = forms.CharField(label=_("本文"), widget=forms.Textarea(attrs={"rows": 14}))


class EnrolCodeForm(forms.Form):
    code = forms.CharField(label=_("メールで届いた確認コード"), max_length=20, required=False)

    def clean_code(self) -> str:
        code = self.cleaned_data.get("code", "").strip()
        if not code:
            raise forms.ValidationError(gettext("メールで届いた確認コードを入力してください。"))
        return code


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("確認コード（6 桁）"),
        regex=r"^\d{6}$",
        error_messages={"invalid": _("6 桁の数字を入力してください。")},
    )
