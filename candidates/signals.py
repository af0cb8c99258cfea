"""Signals candidates sends to the apps above it (documented in docs/architecture.md)."""

from django.dispatch import Signal

# Students' ranks changed (a re-rank or a manual rank), sent inside the transaction that changed them, with
# `candidate_ids`. Booking ends their rush passes, which carry the rank.
ranks_changed = Signal()
