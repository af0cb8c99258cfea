from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "booking"

    def ready(self) -> None:
        # Registers the tasks (their beat schedule is saas/celery.py's).
        from booking import tasks  # noqa: F401
        from booking.personal_data import booking_holder
        from booking.services.mypage import mypage_link_for
        from candidates.personal_data import holder_register
        from notifications.services import mypage_url_provider_set

        # The mails' personal My Page link is made here; notifications asks through this provider.
        mypage_url_provider_set(mypage_link_for)
        # What booking keeps about a student, for disclosure and erasure (candidates.personal_data).
        holder_register(booking_holder())
        # A new rank ends the student's rush passes, which carry the old one.
        from candidates.signals import ranks_changed

        ranks_changed.connect(_ranks_changed, dispatch_uid="booking.rush_passes")
        # The candidate page's panel that mails the student their My Page link.
        from booking.panels import mypage_panel
        from candidates.detailpanels import detail_panel_register

        detail_panel_register(mypage_panel)


def _ranks_changed(sender, *, candidate_ids, **kwargs) -> None:
    from booking.services.rush_passes import rush_passes_revoke

    rush_passes_revoke(candidate_ids=candidate_ids)
