"""Documented extension points of booking (the main flow never depends on a receiver).

`attendance_marked` is sent after the transaction that recorded a student's attendance commits, with
`schema_name`, `booking_id`, `candidate_id`, `seminar_id` and `attendance` ("attended" / "no_show" /
"unknown"). Nothing in the product connects to it today: the step mails are started by booking itself
(booking.mail.attendance_event), as the main flow never depends on a receiver.
"""

from django.dispatch import Signal

attendance_marked = Signal()
