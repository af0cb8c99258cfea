from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        # Periodic work (maintenance transitions, escalations, APPI reminders, leak scans) joins the beat.
        from incidents.tasks import BEAT_SCHEDULE
        from saas.celery import app

        schedule = dict(app.conf.beat_schedule or {})
        schedule.update(BEAT_SCHEDULE)
        app.conf.beat_schedule = schedule
        # Repeated failed sign-ins are a leak signal: Django's documented login-failure signal feeds it.
        from django.contrib.auth.signals import user_login_failed

        from incidents.receivers import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="incidents.login_failed")
