"""Writes of the incidents app, split by concern (lifecycle, notify, webhooks, maintenance, leak, appi, sentry)."""
