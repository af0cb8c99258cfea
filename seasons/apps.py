"""App configuration of the seasons app."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeasonsConfig(AppConfig):
    name = "seasons"
    verbose_name = _("卒年度")
    default_auto_field = "django.db.models.BigAutoField"
