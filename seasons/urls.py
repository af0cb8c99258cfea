"""URLs of the seasons app."""

from django.urls import path

from seasons import views

app_name = "seasons"

urlpatterns = [
    path("seasons/", views.season_list_view, name="list"),
    path("seasons/switch/", views.season_switch_view, name="switch"),
]
