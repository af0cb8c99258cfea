"""Companies' outgoing event webhooks: subscriptions, the per-company event outbox and signed delivery."""
