"""Migrating every company's schema at fleet scale: plan for all schemas at once, apply in parallel.

`plan` reads what each schema lacks with a few queries for all of them together; `apply` runs one
schema's missing migrations with a lock timeout and retries; `fleet` spreads the schemas over worker
processes and reports progress. `manage.py bootstrap` is their entry point (docs/deploy.md).
"""
