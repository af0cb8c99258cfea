"""The one place that sends: websocket pushes, the e-mail outbox, step mails and segment mails."""

from notifications.services.authoring import sequence_save, step_delete, step_save, template_save
from notifications.services.delivery import DeliveryReport, outbox_deliver_due
from notifications.services.outbox import outbox_enqueue, outbox_kick
from notifications.services.push import (
    RECRUITER_GROUP,
    STUDENT_GROUP,
    recruiters_push,
    recruiters_push_many,
    student_group,
    student_push,
    students_push_many,
)
from notifications.services.segments import segment_create, segment_enqueue, segment_enqueue_due
from notifications.services.sequences import sequence_due_scan, sequence_trigger, sequence_trigger_many
from notifications.services.unsubscribe import unsubscribe_apply, unsubscribe_url
from notifications.services.variables import mypage_url_provider_set

__all__ = [
    "RECRUITER_GROUP",
    "STUDENT_GROUP",
    "DeliveryReport",
    "mypage_url_provider_set",
    "outbox_deliver_due",
    "outbox_enqueue",
    "outbox_kick",
    "recruiters_push",
    "recruiters_push_many",
    "segment_create",
    "segment_enqueue",
    "segment_enqueue_due",
    "sequence_due_scan",
    "sequence_save",
    "sequence_trigger",
    "sequence_trigger_many",
    "student_group",
    "student_push",
    "students_push_many",
    "step_delete",
    "step_save",
    "template_save",
    "unsubscribe_apply",
    "unsubscribe_url",
]
