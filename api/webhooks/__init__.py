"""Managing the company's event webhooks: the settings page and the API's operations (audited)."""
