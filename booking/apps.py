from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"

    def ready(self) -> None:
        # Registers the tasks and their beat schedule (waiting-list sweep, interview reminders).
        from booking import tasks  # noqa: F401
