"""URLs of the booking app: the student My Page (/my/) and the recruiters' pages (/booking/)."""

from django.urls import path

from booking.views import interviews, mypage, mypage_privacy, recruiter, rush

app_name = "booking"

urlpatterns = [
    path("my/", mypage.mypage_home, name="mypage_home"),
    path("my/login/<str:token>/", mypage.mypage_login, name="mypage_login"),
    path("my/link/", mypage.mypage_link, name="mypage_link"),
    path("my/logout/", mypage.mypage_logout, name="mypage_logout"),
    path("my/profile/", mypage.mypage_profile, name="mypage_profile"),
    path("my/privacy/", mypage_privacy.mypage_privacy, name="mypage_privacy"),
    path("my/seminars/<int:seminar_id>/", mypage.mypage_seminar, name="mypage_seminar"),
    path("my/seminars/<int:seminar_id>/seats.json", mypage.mypage_seats, name="mypage_seats"),
    path("my/book/", mypage.mypage_book, name="mypage_book"),
    path("my/bookings/<int:booking_id>/cancel/", mypage.mypage_cancel, name="mypage_cancel"),
    path("my/bookings/<int:booking_id>/calendar.ics", mypage.mypage_booking_ics, name="mypage_ics"),
    path("my/bookings/<int:booking_id>/qr.svg", mypage.mypage_booking_qr, name="mypage_qr"),
    path("my/waitlist/join/", mypage.mypage_waitlist_join, name="mypage_waitlist_join"),
    path("my/waitlist/<int:entry_id>/accept/", mypage.mypage_waitlist_accept, name="mypage_waitlist_accept"),
    path("my/waitlist/<int:entry_id>/leave/", mypage.mypage_waitlist_leave, name="mypage_waitlist_leave"),
    path("my/interviews/<int:type_id>/", interviews.mypage_interview, name="mypage_interview"),
    path("my/interviews/<int:type_id>/book/", interviews.mypage_interview_book, name="mypage_interview_book"),
    path(
        "my/interviews/bookings/<int:booking_id>/cancel/",
        interviews.mypage_interview_cancel,
        name="mypage_interview_cancel",
    ),
    path(
        "my/interviews/bookings/<int:booking_id>/calendar.ics",
        interviews.mypage_interview_ics,
        name="mypage_interview_ics",
    ),
    path("booking/seminars/", recruiter.seminar_list, name="seminar_list"),
    path("booking/seminars/new/", recruiter.seminar_new, name="seminar_new"),
    path("booking/seminars/<int:seminar_id>/", recruiter.seminar_detail, name="seminar_detail"),
    path("booking/seminars/<int:seminar_id>/slots/", recruiter.slot_new, name="slot_new"),
    path("booking/seminars/<int:seminar_id>/rules/", recruiter.rules_edit, name="rules_edit"),
    path("booking/seminars/<int:seminar_id>/rush/", rush.seminar_rush, name="seminar_rush"),
    path("booking/seminars/<int:seminar_id>/rush.json", rush.seminar_rush_json, name="seminar_rush_json"),
    path("booking/slots/<int:slot_id>/", recruiter.slot_detail, name="slot_detail"),
    path("booking/slots/<int:slot_id>/quotas/", recruiter.quotas_edit, name="quotas_edit"),
    path("booking/bookings/<int:booking_id>/attendance/", recruiter.attendance, name="attendance"),
    path(
        "booking/bookings/<int:booking_id>/cancel/",
        recruiter.booking_cancel_by_recruiter,
        name="booking_cancel",
    ),
    path("booking/checkin/", recruiter.checkin, name="checkin"),
    path(
        "booking/students/<int:candidate_id>/mypage/<str:action>/",
        recruiter.student_mypage_link,
        name="student_mypage_link",
    ),
    path("booking/interviews/", interviews.interview_types, name="interview_types"),
    path("booking/interviews/<int:type_id>/", interviews.interview_type_detail, name="interview_type"),
]
