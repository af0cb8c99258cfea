"""Incidents: components, incidents and status (public schema)."""
