"""App configuration of the seasons app."""

from django.apps import AppConfig


class SeasonsConfig(AppConfig):
    name = "seasons"
    verbose_name = "卒年度"
    default_auto_field = "django.db.models.BigAutoField"
