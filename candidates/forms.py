"""Forms of the recruiters' workspace (validation only; writes go through services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from candidates.listfilters import list_filters
from candidates.models import RetentionPolicy
from candidates.selectors import SORTS, CandidateFilters

RANK_CSV_HEADER = "大学名,ランク"  # i18n: data — the first line the rank table's CSV must have
RANK_CHOICES = [("", _("すべて"))] + [(chr(code), chr(code)) for code in range(ord("A"), ord("Z") + 1)]


class CandidateFilterForm(forms.Form):
    q = forms.CharField(label=_("検索"), required=False, max_length=100)
    rank = forms.ChoiceField(label=_("ランク"), required=False, choices=RANK_CHOICES)
    graduation_year = forms.IntegerField(label=_("卒業年"), required=False, min_value=1900, max_value=2100)
    board = forms.CharField(label=_("媒体"), required=False, max_length=40)
    status = forms.CharField(label=_("ステータス"), required=False, max_length=40)
    tag = forms.CharField(label=_("タグ"), required=False, max_length=40)
    sort = forms.ChoiceField(label=_("並び順"), required=False, choices=[(key, key) for key in SORTS])

    def __init__(self, *args: Any, season_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.season_id = season_id
        for list_filter in list_filters():
            self.fields[list_filter.key] = forms.CharField(
                label=list_filter.label, required=False, max_length=60
            )

    def extra_filters(self) -> list[dict[str, object]]:
        """The registered filters with their choices for this season and the chosen value (for the template)."""
        data = self.data if self.is_bound else {}
        return [
            {
                "key": list_filter.key,
                "label": list_filter.label,
                "choices": list_filter.choices(self.season_id or 0),
                "value": data.get(list_filter.key, ""),
            }
            for list_filter in list_filters()
        ]

    def filters(self) -> CandidateFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return CandidateFilters(
            season_id=self.season_id,
            extra=tuple(
                (list_filter.key, data[list_filter.key])
                for list_filter in list_filters()
                if data.get(list_filter.key)
            ),
            q=data.get("q") or "",
            rank=data.get("rank") or "",
            graduation_year=data.get("graduation_year"),
            board=data.get("board") or "",
            status=data.get("status") or "",
            tag=data.get("tag") or "",
            sort=data.get("sort") or "new",
        )


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSVファイル"),
        error_messages={"required": _("ファイルを選んでください。")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    board = forms.CharField(label=_("求人媒体"), required=False, max_length=40, widget=forms.Select)

    def __init__(self, *args, boards: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["board"].widget.choices = boards


class StepForm(forms.Form):
    """A new selection step: its key (kept in data and the API) and the name recruiters see."""

    key = forms.CharField(label=_("キー（英数字）"), max_length=40)
    label = forms.CharField(label=_("表示名"), max_length=60)


class RankRuleForm(forms.Form):
    university = forms.CharField(label=_("大学名"), max_length=200)
    rank = forms.CharField(label=_("ランク"), max_length=2)


class AliasForm(forms.Form):
    alias = forms.CharField(label=_("別名"), max_length=200)
    target = forms.CharField(label=_("正式な大学名"), max_length=200)


class RankCSVForm(forms.Form):
    file = forms.FileField(
        label=format_lazy(_("ランク表CSV（{header}）"), header=RANK_CSV_HEADER),
        error_messages={"required": _("ファイルを選んでください。")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    replace = forms.BooleanField(label=_("今のランク表を置き換える"), required=False)


class RetentionPolicyForm(forms.Form):
    enabled = forms.BooleanField(label=_("毎晩実行する"), required=False)
    months_after_season = forms.IntegerField(
        label=_("卒業年度の終わり（3月31日）から"), help_text=_("か月後"), min_value=1, max_value=120
    )
    action = forms.ChoiceField(label=_("処理"), choices=RetentionPolicy.Action.choices)
    keep_statuses = forms.MultipleChoiceField(
        label=_("残す選考ステータス（採用した学生）"), required=False, widget=forms.CheckboxSelectMultiple
    )
    confirmed_count = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, steps: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["keep_statuses"].choices = steps
