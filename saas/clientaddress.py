"""The client's real address: `X-Forwarded-For` is believed only when the peer is a configured proxy.

Behind nginx every request comes from the proxy's address; `TRUSTED_PROXIES` (addresses or networks)
names the proxies whose `X-Forwarded-For` is taken: the right-most address in it that is not itself a
trusted proxy becomes `REMOTE_ADDR`, so throttles, audit entries and logs see the client. From any other
peer the header is ignored (a client cannot claim another address). Empty by default: set it to the
proxy's address in production (deploy/ sets 127.0.0.1 for its nginx).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def from_trusted_proxy(peer: str) -> bool:
    """Whether the peer is one of the configured proxies (whose headers about the request are believed)."""
    proxies = tuple(getattr(settings, "TRUSTED_PROXIES", ()))
    return bool(proxies) and bool(peer) and _peer_trusted(peer, proxies)


@lru_cache(maxsize=1024)
def _peer_trusted(peer: str, proxies: tuple[str, ...]) -> bool:
    # Behind the proxy every request comes from one of a few addresses: parsed once each, not per request.
    return _trusted(peer, _networks(proxies))


def real_client_address(*, peer: str, forwarded_for: str) -> str:
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not networks or not forwarded_for or not _trusted(peer, networks):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # a malformed hop: keep the proxy's address rather than guess
    return peer


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META["REMOTE_ADDR"] = real_client_address(
            peer=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
        )
        return self.get_response(request)
