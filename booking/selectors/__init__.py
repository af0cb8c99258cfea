"""Booking reads (seminars and interviews)."""

from booking.selectors.interviews import *  # noqa: F403
from booking.selectors.seminars import *  # noqa: F403
from booking.selectors.seminars import RANKS, RankAccess, rank_access  # noqa: F401
