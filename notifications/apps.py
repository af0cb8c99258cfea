from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from booking.signals import attendance_marked
        from notifications.receivers import on_attendance_marked

        attendance_marked.connect(on_attendance_marked, dispatch_uid="notifications.attendance")
