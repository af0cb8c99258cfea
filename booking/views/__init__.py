"""Booking views: the student My Page and the recruiters' seminar pages."""
