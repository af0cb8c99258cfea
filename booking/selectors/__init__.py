"""Booking reads (seminars and interviews)."""

from booking.rules import RANKS as RANKS
from booking.rules import RankAccess as RankAccess
from booking.rules import rank_access as rank_access
from booking.selectors.interviews import *  # noqa: F403
from booking.selectors.seminars import *  # noqa: F403
