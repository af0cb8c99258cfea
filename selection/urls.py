"""URLs of the selection app: the season's flow, the interviewer's day, the evaluation form."""

from django.urls import path

from selection.views import bulk, entrysheets, offers, rounds

app_name = "selection"

urlpatterns = [
    path("selection/rounds/", rounds.round_list_view, name="rounds"),
    path("selection/rounds/<int:round_id>/", rounds.round_detail_view, name="round"),
    path("selection/today/", rounds.interviews_today_view, name="today"),
    path(
        "selection/interviews/<int:booking_id>/calendar.ics",
        rounds.interview_calendar_view,
        name="interview_calendar",
    ),
    path(
        "selection/rounds/<int:round_id>/candidates/<int:candidate_id>/",
        rounds.evaluation_view,
        name="evaluate",
    ),
    path("selection/offers/", offers.offer_list_view, name="offers"),
    path("selection/candidates/<int:candidate_id>/offer/", offers.offer_issue_view, name="offer_issue"),
    path("selection/offers/<int:offer_id>/deadline/", offers.offer_deadline_view, name="offer_deadline"),
    path("my/offer/", offers.mypage_offer_view, name="mypage_offer"),
    path("selection/bulk/", bulk.bulk_view, name="bulk"),
    path("selection/entry-sheet/", entrysheets.sheet_view, name="entry_sheet"),
    path("selection/entry-sheet/export.csv", entrysheets.sheet_export_view, name="entry_sheet_export"),
    path("selection/entry-sheet/print/", entrysheets.sheet_print_view, name="entry_sheet_print"),
    path(
        "selection/entry-sheet/files/<int:answer_id>/", entrysheets.staff_file_view, name="entry_sheet_file"
    ),
    path("my/es/", entrysheets.mypage_sheet_view, name="mypage_sheet"),
    path("my/es/draft", entrysheets.mypage_draft_view, name="mypage_sheet_draft"),
    path("my/es/upload/", entrysheets.mypage_upload_view, name="mypage_sheet_upload"),
    path("my/es/files/<int:answer_id>/", entrysheets.mypage_file_view, name="mypage_sheet_file"),
]
