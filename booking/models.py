"""Booking: seminars, interviews, slots and bookings (tenant schema)."""
