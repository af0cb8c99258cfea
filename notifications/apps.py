from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from candidates.personal_data import holder_register, mailer_register
        from notifications.personal_data import mail_holder, privacy_mail

        # What notifications keeps about a student, and how privacy notices reach them (candidates.personal_data).
        holder_register(mail_holder())
        mailer_register(privacy_mail)
