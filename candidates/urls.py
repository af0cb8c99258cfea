"""URLs of the candidates app (recruiters' workspace on the company's host)."""

from django.urls import path

from accounts import views as account_views
from candidates.views import imports, manage, privacy, workspace

app_name = "candidates"

urlpatterns = [
    path("candidates/", workspace.candidate_list_view, name="list"),
    path("candidates/export.csv", workspace.candidate_export_view, name="export"),
    path("candidates/<int:candidate_id>/", workspace.candidate_detail_view, name="detail"),
    path("candidates/<int:candidate_id>/rank/", workspace.candidate_rank_view, name="rank"),
    path("candidates/<int:candidate_id>/status/", workspace.candidate_status_view, name="status"),
    path("candidates/<int:candidate_id>/notes/", workspace.candidate_note_view, name="note"),
    path("candidates/<int:candidate_id>/tags/", workspace.candidate_tag_view, name="tag"),
    path("candidates/<int:candidate_id>/delete/", workspace.candidate_delete_view, name="delete"),
    path("candidates/duplicates/", manage.duplicates_view, name="duplicates"),
    path(
        "candidates/duplicates/<int:duplicate_id>/merge/", manage.duplicate_merge_view, name="duplicate_merge"
    ),
    path(
        "candidates/duplicates/<int:duplicate_id>/dismiss/",
        manage.duplicate_dismiss_view,
        name="duplicate_dismiss",
    ),
    path("candidates/merges/<int:record_id>/undo/", manage.merge_undo_view, name="merge_undo"),
    path("candidates/imports/", imports.import_upload_view, name="import_upload"),
    path("candidates/imports/<int:job_id>/", imports.import_job_view, name="import_job"),
    path("candidates/imports/<int:job_id>/mapping/", imports.import_mapping_view, name="import_mapping"),
    path("candidates/imports/<int:job_id>/start/", imports.import_start_view, name="import_start"),
    path(
        "candidates/imports/<int:job_id>/progress.json", imports.import_progress_view, name="import_progress"
    ),
    path("candidates/ranks/", manage.ranks_view, name="ranks"),
    path("candidates/ranks/reruns/<int:run_id>/", manage.rerun_view, name="rerun"),
    path("candidates/steps/", manage.steps_view, name="steps"),
    path("candidates/audit/", manage.audit_view, name="audit"),
    path("candidates/privacy/", privacy.privacy_queue_view, name="privacy_queue"),
    path("candidates/privacy/<int:request_id>/", privacy.privacy_request_view, name="privacy_request"),
    path(
        "candidates/privacy/<int:request_id>/export.json",
        privacy.privacy_export_view,
        {"kind": "json"},
        name="privacy_export_json",
    ),
    path(
        "candidates/privacy/<int:request_id>/export/",
        privacy.privacy_export_view,
        {"kind": "html"},
        name="privacy_export_html",
    ),
    path("candidates/privacy/<int:request_id>/close/", privacy.privacy_close_view, name="privacy_close"),
    path(
        "candidates/privacy/<int:request_id>/correct/", privacy.privacy_correct_view, name="privacy_correct"
    ),
    path("candidates/privacy/<int:request_id>/erase/", privacy.privacy_erase_view, name="privacy_erase"),
    path(
        "candidates/privacy/<int:request_id>/receipt/", privacy.privacy_receipt_view, name="privacy_receipt"
    ),
    path("candidates/<int:candidate_id>/privacy/", privacy.privacy_record_view, name="privacy_record"),
    path("candidates/retention/", privacy.retention_view, name="retention"),
    path("accounts/recruiters/", account_views.recruiters_view, name="recruiters"),
    path("accounts/otp/", account_views.otp_setup_view, name="otp_setup"),
]
