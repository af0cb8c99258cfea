"""Recruiter forms for seminars, slots, quotas and rank rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from booking.models import POOL, Seminar

# i18n: data — what a recruiter may type: the word for "not shown" in a rank rule
HIDDEN_WORDS = ("非公開", "hidden")

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


class RankSeatsWidget(forms.MultiWidget):
    """A row per rank and one for the shared pool, each a number box (no `A=40, *=20` to type)."""

    template_name = "booking/widgets/rank_seats.html"

    def __init__(self, ranks: list[str]) -> None:
        self.ranks = ranks
        number = {"min": 0, "max": 100_000, "inputmode": "numeric", "size": 6}
        super().__init__([forms.NumberInput(attrs=number) for _rank in ranks])

    def decompress(self, value):
        value = value or {}
        return [value.get(rank) for rank in self.ranks]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for rank, subwidget in zip(self.ranks, context["widget"]["subwidgets"], strict=True):
            subwidget["label"] = _("共有枠") if rank == POOL else rank
        return context


class RankSeatsField(forms.MultiValueField):
    """{rank: seats} for the ranks given and the shared pool; an empty row is no reserved seats."""

    def __init__(self, *, ranks: list[str] | None = None, **kwargs) -> None:
        ranks = [*(ranks or []), POOL]
        fields = [forms.IntegerField(min_value=0, max_value=100_000, required=False) for _rank in ranks]
        kwargs.setdefault("required", False)
        super().__init__(fields=fields, require_all_fields=False, widget=RankSeatsWidget(ranks), **kwargs)
        self.ranks = ranks

    def compress(self, data_list) -> dict[str, int]:
        return {rank: seats for rank, seats in zip(self.ranks, data_list or [], strict=False) if seats is not None}


def _rank_seats(form: forms.Form, ranks: list[str], initial: dict[str, int] | None) -> None:
    """The form's quotas field with a row for each of the company's ranks and each rank already given seats."""
    known = sorted({*ranks, *(rank for rank in (initial or {}) if rank != POOL)})
    form.fields["quotas"] = RankSeatsField(ranks=known, label=form.fields["quotas"].label)


class SlotForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("開始"), widget=_DATETIME)
    ends_at = forms.DateTimeField(label=_("終了"), widget=_DATETIME)
    capacity = forms.IntegerField(label=_("定員"), min_value=1, max_value=100_000)
    quotas = RankSeatsField(label=_("ランク別の席数"))

    def __init__(self, *args, ranks: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _rank_seats(self, ranks, None)

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise forms.ValidationError(gettext("終了は開始より後にしてください。"))
        return data


class QuotaForm(forms.Form):
    capacity = forms.IntegerField(label=_("定員"), min_value=1, max_value=100_000)
    quotas = RankSeatsField(label=_("ランク別の席数"))

    def __init__(self, *args, ranks: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _rank_seats(self, ranks, (self.initial or {}).get("quotas"))


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
