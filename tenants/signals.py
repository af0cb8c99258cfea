"""Documented extension points of tenants (how this low layer tells the apps above it).

`tenant_created` is sent after a company is provisioned, `tenant_deleted` after its schema is dropped, each
with `tenant` (after deletion: the unsaved instance, name and slug still set), `actor` (the support user,
or a label such as "manage.py") and, for deletions, `export` (the export file's name). The incidents app
connects to both and writes the support staff's audit entry (incidents.receivers.tenant_audit).
"""

from django.dispatch import Signal

tenant_created = Signal()
tenant_deleted = Signal()
