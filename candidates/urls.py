"""URLs of the candidates app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
