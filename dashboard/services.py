"""Writes of the dashboard: bringing the students' facts up to date before they are read.

Seats won on the rush path note their students in dashboard_fact_stale instead of refreshing the facts in
the winners' transaction (dashboard migration 0003); a worker refreshes them every second, and every read
of the dashboard first refreshes what is still noted, so a recruiter never sees figures older than the data.
"""

from __future__ import annotations

from booking.services.confirmations import rush_facts_refresh


def facts_catch_up() -> int:
    """Refresh the facts of the students noted as stale in the current company; how many there were."""
    return rush_facts_refresh()
