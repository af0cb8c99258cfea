"""URLs of the notifications app on a company's host."""

from django.urls import path

from notifications.views import pages, unsubscribe

urlpatterns = [
    path("mail/unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="mail_unsubscribe"),
    path("mail/sequences/", pages.sequence_list_view, name="mail_sequences"),
    path("mail/sequences/new/", pages.sequence_edit_view, name="mail_sequence_new"),
    path("mail/sequences/<int:sequence_id>/", pages.sequence_edit_view, name="mail_sequence_edit"),
    path("mail/sequences/<int:sequence_id>/steps/new/", pages.step_edit_view, name="mail_step_new"),
    path(
        "mail/sequences/<int:sequence_id>/steps/<int:step_id>/", pages.step_edit_view, name="mail_step_edit"
    ),
    path("mail/templates/", pages.template_list_view, name="mail_templates"),
    path("mail/templates/new/", pages.template_edit_view, name="mail_template_new"),
    path("mail/templates/<int:template_id>/", pages.template_edit_view, name="mail_template_edit"),
    path("mail/segments/", pages.segment_view, name="mail_segments"),
    path("mail/candidates/<int:candidate_id>/", pages.candidate_history_view, name="mail_candidate_history"),
    path("mail/settings/", pages.settings_view, name="mail_settings"),
]
