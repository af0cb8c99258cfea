"""Forms of the selection pages: a round of the flow, a line of its evaluation form."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Role, User
from booking.models import InterviewType
from candidates.models import SelectionStep
from selection.models import CriterionKind


class RoundForm(forms.Form):
    name = forms.CharField(label="名称", max_length=60)
    step_key = forms.ChoiceField(label="選考ステップ", required=False)
    interview_type = forms.ModelChoiceField(
        label="面接", queryset=InterviewType.objects.none(), required=False, empty_label="（面接なし）"
    )
    evaluators = forms.ModelMultipleChoiceField(
        label="評価者（未選択なら面接官と採用担当）",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    pass_invites = forms.BooleanField(
        label="合格したら次の面接の予約を案内する", required=False, initial=True
    )
    pass_step_mail = forms.BooleanField(
        label="合格したらステップメールを開始する", required=False, initial=True
    )

    def __init__(self, *args: Any, season_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step_key"].choices = [("", "（新しいステップを作る）")] + [
            (step.key, step.label) for step in SelectionStep.objects.all()
        ]
        self.fields["interview_type"].queryset = InterviewType.objects.filter(season_id=season_id)
        self.fields["evaluators"].queryset = User.objects.filter(
            is_active=True, role__in=[Role.ADMIN, Role.RECRUITER, Role.INTERVIEWER]
        ).order_by("email")


class CriterionForm(forms.Form):
    label = forms.CharField(label="評価項目", max_length=60)
    kind = forms.ChoiceField(label="形式", choices=CriterionKind.choices)
    choices_text = forms.CharField(
        label="選択肢（選択肢形式のみ・カンマ区切り）", required=False, max_length=500
    )


class OfferForm(forms.Form):
    deadline = forms.DateTimeField(
        label="承諾期限",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    start_date = forms.DateField(
        label="入社予定日", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class OfferLetterForm(forms.Form):
    subject = forms.CharField(label="件名", max_length=200)
    body = forms.CharField(label="本文", max_length=10000, widget=forms.Textarea(attrs={"rows": 14}))
