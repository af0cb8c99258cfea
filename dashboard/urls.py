"""URLs of the dashboard: the season's page and each chart's CSV."""

from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("dashboard/", views.dashboard_view, name="page"),
    path("dashboard/<slug:table>.csv", views.dashboard_csv_view, name="csv"),
]
