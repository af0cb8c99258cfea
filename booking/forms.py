"""Forms of the booking app: seminars, slots, seats and rank rules per rank, interviews, privacy requests."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from booking.models import POOL, Seminar

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
        return {
            rank: seats for rank, seats in zip(self.ranks, data_list or [], strict=False) if seats is not None
        }


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


# What a Japanese recruiter types besides the picker's own value: slashes, and the date with no "T".
DATETIME_INPUTS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
]
SHOWN, HIDDEN = "shown", "hidden"


class RankRuleWidget(forms.MultiWidget):
    """One rank's row: shown or hidden (or as the seminar's default), and when its booking opens."""

    template_name = "booking/widgets/rank_rule.html"

    def __init__(self) -> None:
        choices = [("", "—"), (SHOWN, _("公開")), (HIDDEN, _("非公開"))]
        super().__init__(
            [forms.Select(choices=choices), forms.DateTimeInput(attrs={"type": "datetime-local"})]
        )

    def decompress(self, value):
        # The initial value comes as a dict: a tuple would be taken for the boxes' values themselves.
        if not value:
            return ["", None]
        visible, opens_at = value["visible"], value["opens_at"]
        opens = f"{timezone.localtime(opens_at):%Y-%m-%dT%H:%M}" if opens_at else None
        return [SHOWN if visible else HIDDEN, opens]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for label, subwidget in zip((_("公開"), _("受付開始")), context["widget"]["subwidgets"], strict=True):
            subwidget["label"] = label
        return context


class RankRuleField(forms.MultiValueField):
    """(visible, opens_at) for one rank, or None where the recruiter left the row as the seminar's default."""

    def __init__(self, **kwargs) -> None:
        fields = [
            forms.ChoiceField(choices=[("", "—"), (SHOWN, SHOWN), (HIDDEN, HIDDEN)], required=False),
            forms.DateTimeField(required=False, input_formats=DATETIME_INPUTS),
        ]
        super().__init__(
            fields=fields, require_all_fields=False, required=False, widget=RankRuleWidget(), **kwargs
        )

    def compress(self, data_list):
        shown, opens_at = [*(data_list or []), "", None][:2]
        if shown == HIDDEN:
            return (False, None)
        if shown == SHOWN or opens_at:
            return (True, opens_at)
        return None


class RulesForm(forms.Form):
    """A row per rank (the company's and those with a rule): its visibility and its opening time."""

    def __init__(self, *args, ranks: list[str], rules: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ranks = sorted({*ranks, *(rules or {})})
        for rank in self.ranks:
            rule = (rules or {}).get(rank)
            initial = {"visible": rule[0], "opens_at": rule[1]} if rule else None
            self.fields[f"rank_{rank}"] = RankRuleField(label=rank, initial=initial)

    def clean(self):
        data = super().clean()
        rules = {rank: data.get(f"rank_{rank}") for rank in self.ranks}
        data["rules"] = {rank: rule for rank, rule in rules.items() if rule is not None}
        return data


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


class PrivacyRequestForm(forms.Form):
    """A student's APPI request on the My Page; a deletion needs its consequences acknowledged."""

    kind = forms.ChoiceField(label=_("請求の種類"), widget=forms.RadioSelect)
    details = forms.CharField(
        label=_("内容（訂正の場合は正しい内容を書いてください）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "style": "width:100%"}),
    )
    understood = forms.BooleanField(
        label=_("削除を請求する場合: 予約中の日程も取り消され、元に戻せないことを理解しました"),
        required=False,
    )

    def __init__(self, *args, kinds: list[tuple[str, Any, Any]], **kwargs) -> None:
        from django.utils.html import format_html

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (value, format_html('<strong>{}</strong><br><span class="muted">{}</span>', label, help_text))
            for value, label, help_text in kinds
        ]

    def clean(self):
        from candidates.models import PrivacyRequest

        data = super().clean()
        if data.get("kind") == PrivacyRequest.Kind.DELETION and not data.get("understood"):
            self.add_error(
                "understood", gettext("削除の請求では、内容を確認したことにチェックを入れてください。")
            )
        return data
