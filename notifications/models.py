"""Notifications: the one place that sends (tenant schema)."""
