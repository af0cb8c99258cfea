"""Writes of the webhooks app: subscriptions (subscriptions.py) and the delivery of events (delivery.py)."""
