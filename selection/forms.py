"""Forms of the selection pages: a round of the flow, a line of its evaluation form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from booking.models import InterviewType
from candidates.models import SelectionStep
from selection.models import CriterionKind, QuestionKind, Round


class RoundForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=60)
    step_key = forms.ChoiceField(label=_("選考ステップ"), required=False)
    interview_type = forms.ModelChoiceField(
        label=_("面接"), queryset=InterviewType.objects.none(), required=False, empty_label=_("（面接なし）")
    )
    evaluators = forms.ModelMultipleChoiceField(
        label=_("評価者（未選択なら面接官と採用担当）"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    pass_invites = forms.BooleanField(
        label=_("合格したら次の面接の予約を案内する"), required=False, initial=True
    )
    pass_step_mail = forms.BooleanField(
        label=_("合格したらステップメールを開始する"), required=False, initial=True
    )

    def __init__(self, *args: Any, season_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step_key"].choices = [("", gettext("（新しいステップを作る）"))] + [
            (step.key, step.label) for step in SelectionStep.objects.all()
        ]
        self.fields["interview_type"].queryset = InterviewType.objects.filter(season_id=season_id)
        self.fields["evaluators"].queryset = User.objects.filter(
            is_active=True, role__in=[Role.ADMIN, Role.RECRUITER, Role.INTERVIEWER]
        ).order_by("email")


class CriterionForm(forms.Form):
    label = forms.CharField(label=_("評価項目"), max_length=60)
    kind = forms.ChoiceField(label=_("形式"), choices=CriterionKind.choices)
    choices_text = forms.CharField(
        label=_("選択肢（選択肢形式のみ・カンマ区切り）"), required=False, max_length=500
    )


class OfferForm(forms.Form):
    deadline = forms.DateTimeField(
        label=_("承諾期限"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    start_date = forms.DateField(
        label=_("入社予定日"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class OfferLetterForm(forms.Form):
    subject = forms.CharField(label=_("件名"), max_length=200)
    body = forms.CharField(label=_("本文"), max_length=10000, widget=forms.Textarea(attrs={"rows": 14}))


class EntrySheetForm(forms.Form):
    title = forms.CharField(label=_("名称"), max_length=100)
    intro = forms.CharField(
        label=_("説明（学生に表示）"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    deadline = forms.DateTimeField(
        label=_("提出期限"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    is_open = forms.BooleanField(label=_("受付中（マイページに表示）"), required=False)
    round = forms.ModelChoiceField(
        label=_("評価する選考"), queryset=Round.objects.none(), required=False, empty_label=_("（なし）")
    )

    def __init__(self, *args: Any, season_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = Round.objects.filter(season_id=season_id)


class QuestionForm(forms.Form):
    label = forms.CharField(label=_("設問"), max_length=300)
    kind = forms.ChoiceField(label=_("形式"), choices=QuestionKind.choices)
    required = forms.BooleanField(label=_("必須"), required=False, initial=True)
    max_length = forms.IntegerField(
        label=_("文字数の上限（文章のみ）"), min_value=1, max_value=4000, initial=400
    )
    choices_text = forms.CharField(
        label=_("選択肢（選択肢形式のみ・カンマ区切り）"), required=False, max_length=1000
    )


class AnswersForm(forms.Form):
    """A student's answers to a sheet's text and choice questions: a field `q_<id>` per question (element id
    `q-<id>`, as the autosave and its counter know them); files are attached by their own forms."""

    def __init__(self, *args, rows, **kwargs) -> None:
        from django.utils.html import format_html

        super().__init__(*args, **kwargs)
        for question, answer in rows:
            if question.kind == QuestionKind.FILE:
                continue
            label = format_html("{}{}", question.label, _("（必須）") if question.required else "")
            attrs = {"id": f"q-{question.pk}"}
            initial = answer.text if answer else ""
            if question.kind == QuestionKind.TEXT:
                attrs.update(rows="6", maxlength=str(question.max_length), style="width:100%")
                count = f"{len(initial or '')} / {question.max_length}"
                self.fields[f"q_{question.pk}"] = forms.CharField(
                    label=label,
                    required=False,
                    initial=initial,
                    widget=forms.Textarea(attrs=attrs),
                    help_text=format_html('<span id="q-{}-count">{}</span>', question.pk, count),
                )
            else:
                choices = [("", _("選んでください")), *((choice, choice) for choice in question.choices)]
                self.fields[f"q_{question.pk}"] = forms.ChoiceField(
                    label=label, required=False, initial=initial, choices=choices, widget=forms.Select(attrs=attrs)
                )
