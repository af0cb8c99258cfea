"""Forms of the recruiter mail pages: they parse input; services validate the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications.models import MailTemplate, Trigger


def split_list(value: str) -> list[str]:
    # i18n: data — the Japanese comma recruiters type is accepted as a separator
    return [part.strip() for part in value.replace("、", ",").split(",") if part.strip()]


class CommaListField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("カンマ区切り。空欄はすべて"))
        super().__init__(**kwargs)

    def to_python(self, value):
        return split_list(super().to_python(value) or "")


class YearListField(CommaListField):
    def to_python(self, value):
        years = super().to_python(value)
        try:
            return [int(year) for year in years]
        except ValueError as error:
            raise forms.ValidationError(gettext("卒業年は 2027 のように数字で入力してください。")) from error


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("テンプレート名"), max_length=100)
    subject = forms.CharField(label=_("件名"), max_length=200)
    body = forms.CharField(label=_("本文"), widget=forms.Textarea(attrs={"rows": 12}))


class SequenceForm(forms.Form):
    name = forms.CharField(label=_("シーケンス名"), max_length=100)
    trigger = forms.ChoiceField(label=_("開始のきっかけ"), choices=Trigger.choices)
    trigger_status = forms.CharField(
        label=_("変更後のステータス（ステータス変更のとき）"), max_length=40, required=False
    )
    days_before = forms.IntegerField(
        label=_("予約日の何日前（N 日前のとき）"), min_value=1, max_value=60, required=False
    )
    is_active = forms.BooleanField(label=_("有効にする"), required=False)
    stop_on_booked = forms.BooleanField(label=_("説明会を予約したら停止"), required=False)
    stop_on_statuses = CommaListField(label=_("このステータスになったら停止"))


class StepForm(forms.Form):
    template = forms.ModelChoiceField(label=_("テンプレート"), queryset=MailTemplate.objects.all())
    delay_days = forms.IntegerField(label=_("何日後"), min_value=0, max_value=365, initial=0)
    delay_minutes = forms.IntegerField(label=_("何分後"), min_value=0, max_value=60 * 24, initial=0)
    send_at_time = forms.TimeField(label=_("送信時刻（日本時間、空欄なら経過時間どおり）"), required=False)
    ranks = CommaListField(label=_("ランク"))
    graduation_years = YearListField(label=_("卒業年"))
    statuses = CommaListField(label=_("選考ステータス"))
    boards = CommaListField(label=_("応募媒体"))
    tags = CommaListField(label=_("タグ"))
    require_not_booked = forms.BooleanField(label=_("説明会未予約の学生のみ"), required=False)


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("配信名"), max_length=100)
    ranks = CommaListField(label=_("ランク"))
    graduation_years = YearListField(label=_("卒業年"))
    statuses = CommaListField(label=_("選考ステータス"))
    boards = CommaListField(label=_("応募媒体"))
    tags = CommaListField(label=_("タグ"))
    require_not_booked = forms.BooleanField(label=_("説明会未予約の学生のみ"), required=False)
    template = forms.ModelChoiceField(
        label=_("テンプレートから読み込む"), queryset=MailTemplate.objects.all(), required=False
    )
    subject = forms.CharField(label=_("件名"), max_length=200, required=False)
    body = forms.CharField(label=_("本文"), widget=forms.Textarea(attrs={"rows": 10}), required=False)
    send_at = forms.DateTimeField(
        label=_("送信日時（空欄なら今すぐ）"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class MailSettingsForm(forms.Form):
    quiet_start = forms.TimeField(label=_("配信しない時間帯の開始"))
    quiet_end = forms.TimeField(label=_("配信しない時間帯の終了"))
    rate_per_second = forms.IntegerField(label=_("1 秒あたりの送信上限"), min_value=1, max_value=1000)
