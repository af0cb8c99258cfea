from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        # Repeated failed sign-ins are a leak signal: Django's documented login-failure signal feeds it.
        from django.contrib.auth.signals import user_login_failed

        from incidents.receivers import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="incidents.login_failed")
        # A company's session cookie presented on another company's host (accounts tells, incidents acts).
        from accounts.signals import foreign_session_presented
        from incidents.receivers import foreign_session

        foreign_session_presented.connect(foreign_session, dispatch_uid="incidents.foreign_session")
        # Support staff creating or deleting a company (tenants tells, incidents audits).
        from incidents.receivers import tenant_audit
        from tenants.signals import tenant_created, tenant_deleted

        tenant_created.connect(tenant_audit, dispatch_uid="incidents.tenant_created")
        tenant_deleted.connect(tenant_audit, dispatch_uid="incidents.tenant_deleted")
