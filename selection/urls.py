"""URLs of the selection app: the season's flow, the interviewer's day, the evaluation form."""

from django.urls import path

from selection import views

app_name = "selection"

urlpatterns = [
    path("selection/rounds/", views.round_list_view, name="rounds"),
    path("selection/rounds/<int:round_id>/", views.round_detail_view, name="round"),
    path("selection/today/", views.interviews_today_view, name="today"),
    path(
        "selection/rounds/<int:round_id>/candidates/<int:candidate_id>/",
        views.evaluation_view,
        name="evaluate",
    ),
]
