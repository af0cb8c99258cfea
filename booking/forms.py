"""Recruiter forms for seminars, slots, quotas and rank rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from booking.models import Seminar

# i18n: data — what a recruiter may type: the word for "not shown" in a rank rule, Japanese commas in quotas
HIDDEN_WORDS, IDEOGRAPHIC_COMMA, FULLWIDTH_COMMA = ("非公開", "hidden"), "、", "，"

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SeminarForm(forms.ModelForm):
    online_url = forms.URLField(label=_("オンラインURL"), required=False, assume_scheme="https")

    class Meta:
        model = Seminar
        fields = [
            "title",
            "description",
            "place",
            "online_url",
            "published",
            "default_visible",
            "opens_at",
            "booking_deadline",
            "cancellation_deadline",
            "offer_minutes",
            "for_offer_holders",
        ]
        widgets = {
            "opens_at": _DATETIME,
            "booking_deadline": _DATETIME,
            "cancellation_deadline": _DATETIME,
            "description": forms.Textarea(attrs={"rows": 4}),
        }


class SlotForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("開始"), widget=_DATETIME)
    ends_at = forms.DateTimeField(label=_("終了"), widget=_DATETIME)
    capacity = forms.IntegerField(label=_("定員"), min_value=1, max_value=100_000)
    quotas = forms.CharField(
        label=_("ランク別の席数"),
        required=False,
        help_text=_("例: A=40, B=40, *=20（* は共有枠）。空欄なら全席が共有枠です。"),
    )

    def clean_quotas(self) -> dict[str, int]:
        return quotas_parse(self.cleaned_data.get("quotas", ""))

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError(gettext("終了は開始より後にしてください。"))
        return data


class QuotaForm(forms.Form):
    capacity = forms.IntegerField(label=_("定員"), min_value=1, max_value=100_000)
    quotas = forms.CharField(label=_("ランク別の席数"), help_text=_("例: A=40, B=40, *=20（* は共有枠）"))

    def clean_quotas(self) -> dict[str, int]:
        return quotas_parse(self.cleaned_data.get("quotas", ""))


class RulesForm(forms.Form):
    rules = forms.CharField(
        label=_("ランク別の公開と受付開始"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("1 行に 1 ランク。例: 「A 2027-03-01 10:00」「B 2027-03-03 10:00」「D 非公開」"),
    )

    def clean_rules(self):
        from datetime import datetime

        from django.utils import timezone

        rules = {}
        for number, line in enumerate(self.cleaned_data.get("rules", "").splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            rank = parts[0].upper()
            if len(rank) != 1 or not "A" <= rank <= "Z":
                raise forms.ValidationError(
                    gettext("%(number)s 行目: ランクは A〜Z の 1 文字で書いてください。") % {"number": number}
                )
            rest = " ".join(parts[1:])
            if rest in HIDDEN_WORDS:
                rules[rank] = (False, None)
            elif not rest:
                rules[rank] = (True, None)
            else:
                try:
                    opens = datetime.strptime(rest, "%Y-%m-%d %H:%M")
                except ValueError:
                    raise forms.ValidationError(
                        gettext("%(number)s 行目: 日時は「2027-03-01 10:00」の形で書いてください。")
                        % {"number": number}
                    ) from None
                rules[rank] = (True, timezone.make_aware(opens))
        return rules


def quotas_parse(text: str) -> dict[str, int]:
    quotas: dict[str, int] = {}
    for part in text.replace(IDEOGRAPHIC_COMMA, ",").replace(FULLWIDTH_COMMA, ",").split(","):
        part = part.strip()
        if not part:
            continue
        rank, sep, seats = part.partition("=")
        rank = rank.strip().upper()
        if not sep or not (rank == "*" or (len(rank) == 1 and "A" <= rank <= "Z")):
            raise forms.ValidationError(
                gettext("「%(part)s」は「A=40」の形で書いてください（* は共有枠）。") % {"part": part}
            )
        try:
            quotas[rank] = int(seats.strip())
        except ValueError:
            raise forms.ValidationError(
                gettext("「%(part)s」の席数が数字ではありません。") % {"part": part}
            ) from None
        if quotas[rank] < 0:
            raise forms.ValidationError(gettext("席数は 0 以上にしてください。"))
    return quotas


def quotas_format(quotas) -> str:
    return ", ".join(f"{quota.rank}={quota.seats}" for quota in quotas)


class InterviewTypeForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100, help_text=_("例: 一次面接"))
    step = forms.CharField(label=_("対象の選考ステップ"), max_length=40, initial="interview")
    duration_minutes = forms.IntegerField(label=_("所要時間（分）"), min_value=5, max_value=480, initial=30)
    buffer_minutes = forms.IntegerField(
        label=_("前後の空き時間（分）"), min_value=0, max_value=240, initial=10
    )
    capacity = forms.IntegerField(label=_("1 回の人数"), min_value=1, max_value=100, initial=1)
    place = forms.CharField(label=_("会場"), max_length=200, required=False)
    online_url = forms.URLField(label=_("オンラインURL"), required=False, assume_scheme="https")
    change_deadline_hours = forms.IntegerField(
        label=_("変更・キャンセル締切（時間前）"), min_value=0, initial=24
    )
    interviewers = forms.ModelMultipleChoiceField(label=_("面接官"), queryset=None)  # type: ignore[var-annotated]

    def __init__(self, *args, users=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["interviewers"].queryset = users


class AvailabilityForm(forms.Form):
    interviewer = forms.ModelChoiceField(label=_("面接官"), queryset=None)  # type: ignore[var-annotated]
    starts_at = forms.DateTimeField(label=_("開始"), widget=_DATETIME)
    ends_at = forms.DateTimeField(label=_("終了"), widget=_DATETIME)

    def __init__(self, *args, users=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["interviewer"].queryset = users
