from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        # Repeated failed sign-ins are a leak signal: Django's documented login-failure signal feeds it.
        from django.contrib.auth.signals import user_login_failed

        from incidents.receivers import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="incidents.login_failed")
