"""App configuration of the selection app (rounds, evaluation forms, evaluations)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelectionConfig(AppConfig):
    name = "selection"
    verbose_name = _("選考")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing the tasks registers them (their beat schedule is saas/celery.py's).
        from candidates.detailpanels import detail_panel_register
        from candidates.listfilters import list_filter_register
        from candidates.personal_data import holder_register
        from selection import tasks  # noqa: F401
        from selection.listfilters import OFFER_FILTER
        from selection.panels import entry_sheet_panel, evaluations_panel, offers_panel
        from selection.personal_data import entry_sheets_holder, evaluations_holder, offers_holder

        # A candidate's page shows every round's evaluations side by side (candidates knows nothing of us).
        detail_panel_register(entry_sheet_panel)
        detail_panel_register(evaluations_panel)
        detail_panel_register(offers_panel)
        # The candidate list filters by offer (and bulk actions take the same filters).
        list_filter_register(OFFER_FILTER)
        # What selection keeps about a student, for disclosure and erasure (candidates.personal_data).
        holder_register(evaluations_holder())
        holder_register(offers_holder())
        holder_register(entry_sheets_holder())
