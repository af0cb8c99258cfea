"""Forms of the seasons page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from seasons.models import FIRST_YEAR, LAST_YEAR


class SeasonForm(forms.Form):
    graduation_year = forms.IntegerField(label=_("卒業年（西暦）"), min_value=FIRST_YEAR, max_value=LAST_YEAR)
    label = forms.CharField(label=_("表示名（空欄なら「28卒」の形）"), max_length=40, required=False)
    is_default = forms.BooleanField(label=_("既定の年度にする"), required=False)
