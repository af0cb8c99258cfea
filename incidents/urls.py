"""URLs of the incidents app on the public host (status.<BASE_DOMAIN> and the support pages)."""

from django.urls import path

from incidents.views import data, hooks, otp, status, support

urlpatterns = [
    path("", status.status_or_home, name="incidents_status_or_home"),
    path("status/", status.public_status, name="incidents_public_status"),
    path("feed.atom", status.public_feed, name="incidents_public_feed"),
    path("incidents/<int:pk>/", status.public_incident, name="incidents_public_incident"),
    path("hooks/sentry/", hooks.sentry_hook, name="incidents_sentry_hook"),
    path("support/otp/setup/", otp.otp_setup, name="incidents_otp_setup"),
    path("support/otp/verify/", otp.otp_verify, name="incidents_otp_verify"),
    path("support/incidents/", support.incident_list, name="incidents_support_list"),
    path("support/incidents/<int:pk>/", support.incident_detail, name="incidents_support_detail"),
    path("support/incidents/<int:pk>/data/", data.support_data, name="incidents_support_data"),
    path("support/components/", support.component_list, name="incidents_support_components"),
    path("support/maintenance/", support.maintenance_list, name="incidents_support_maintenance"),
    path("support/audit/", support.audit_list, name="incidents_support_audit"),
    path("support/leaks/report/", support.leak_report_view, name="incidents_support_leak_report"),
]
