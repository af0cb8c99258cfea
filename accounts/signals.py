"""Documented extension points of accounts (how this low layer tells the apps above it).

`foreign_session_presented` is sent when a session cookie of one company is presented on another company's
host (a copied cookie: browsers never send it there), with `owner` and `presented_on` (the two Tenants) and
`what` ("session-cookie"), at most once per cookie and day. The incidents app connects to it and opens a
private data incident for the owner (incidents.receivers.foreign_session).
"""

from django.dispatch import Signal

foreign_session_presented = Signal()
