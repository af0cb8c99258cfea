"""Celery application and the whole beat schedule (every periodic task of every app, here and nowhere else).

One tenant mechanism: every task that works for a company takes its schema name (plus ids) and enters it
with `schema_context` (work for all companies goes through tenants.context.for_each_tenant), as
docs/architecture.md describes. tenant-schemas-celery's implicit switch (a header naming the sender's schema)
was a second mechanism doing the same job and is not used.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

app = Celery("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Task name -> every how many seconds. The database is the source of truth, so each scan recovers what a
# lost Redis message dropped.
BEAT_SCHEDULE = {
    # candidates (nightly, Japan time: the quietest hour for a company's recruiters and students)
    "candidates-retention": {"task": "candidates.retention_run", "schedule": crontab(hour=3, minute=30)},
    # booking
    "booking-waitlist-offers-sweep": {"task": "booking.waitlist_offers_sweep", "schedule": 60.0},
    "booking-reminders": {"task": "booking.reminders", "schedule": 3600.0},
    "booking-rush-confirmations": {"task": "booking.rush_confirmations", "schedule": 1.0},
    "booking-rush-confirmations-sweep": {"task": "booking.rush_confirmations_sweep", "schedule": 60.0},
    # selection (offers: deadline reminders, then expiry)
    "selection-offer-reminders": {"task": "selection.offer_reminders", "schedule": 900.0},
    # notifications
    "notifications-outbox-scan": {"task": "notifications.outbox_scan", "schedule": 10.0},
    "notifications-sequence-scan": {"task": "notifications.sequence_scan", "schedule": 60.0},
    "notifications-erased-notices-scrub": {"task": "notifications.erased_notices_scrub", "schedule": 600.0},
    # webhooks (each company's run is queued on commit; this finds what a lost message or lease left)
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 30.0},
    "webhooks-prune": {"task": "webhooks.prune", "schedule": crontab(hour=4, minute=40)},
    # incidents
    "tenants-exports-prune": {"task": "tenants.exports_prune", "schedule": crontab(hour=4, minute=10)},
    "incidents-maintenance-tick": {"task": "incidents.tasks.maintenance_tick_task", "schedule": 30.0},
    "incidents-ack-escalation": {"task": "incidents.tasks.ack_escalation_task", "schedule": 60.0},
    "incidents-data-reminders": {"task": "incidents.tasks.data_incident_reminders_task", "schedule": 300.0},
    "incidents-leak-scan": {"task": "incidents.tasks.leak_scan_task", "schedule": 120.0},
}
app.conf.beat_schedule = BEAT_SCHEDULE
