"""URLs of the incidents app on every company host: status page, feed, acknowledgement, webhooks, leaks."""

from django.urls import path

from incidents.views import data, hooks, status, students

urlpatterns = [
    path("my/status/", students.student_status, name="incidents_student_status"),
    path("my/status.json", students.student_status_json, name="incidents_student_status_json"),
    path("status/", status.tenant_status, name="incidents_tenant_status"),
    path("status/feed.atom", status.tenant_feed, name="incidents_tenant_feed"),
    path("status/feed/revoke/", status.tenant_feed_keys_revoke, name="incidents_tenant_feed_revoke"),
    path("status/incidents/<int:pk>/", status.tenant_incident, name="incidents_tenant_incident"),
    path("status/incidents/<int:pk>/ack/", status.tenant_incident_ack, name="incidents_tenant_ack"),
    path("status/ack/<str:token>/", status.ack_by_token, name="incidents_ack_by_token"),
    path("status/subscriptions/", status.tenant_subscriptions, name="incidents_tenant_subscriptions"),
    path("status/leak/report/", status.tenant_leak_report, name="incidents_tenant_leak_report"),
    path("status/webhooks/", hooks.tenant_webhooks, name="incidents_tenant_webhooks"),
    path(
        "status/webhooks/<int:pk>/delete/",
        hooks.tenant_webhook_delete,
        name="incidents_tenant_webhook_delete",
    ),
    path("status/data/<int:pk>/", data.tenant_data, name="incidents_tenant_data"),
    path("status/data/<int:pk>/export.csv", data.tenant_data_export, name="incidents_tenant_data_export"),
]
