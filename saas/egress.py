"""Where the product's outgoing HTTP may go: public addresses only, checked after DNS on every connection.

One rule for every request the servers make on someone else's behalf (company webhooks today):
- a destination is refused when any address its name resolves to is loopback, private, link-local (the
  cloud metadata service at 169.254.169.254), shared, reserved, multicast or unspecified, including such
  addresses wrapped in IPv6 (``::ffff:127.0.0.1``, NAT64, 6to4);
- the check runs when a URL is saved (`destination_check`) and again on every connection, after DNS
  resolution, and the connection goes to the address that was checked (no second lookup a rebinding DNS
  server could answer differently); redirects are never followed;
- each request has a total time budget and reads at most a few KiB of answer (`bounded_send`).
``OUTGOING_HTTP_ALLOW`` names exact ``address:port`` pairs exempt from the rule (local receivers in tests
and benchmarks); it is empty in production.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


class DestinationRefused(Exception):
    """The URL is not a public HTTP(S) destination; `message` is for the user (Japanese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def address_public(address: Address) -> bool:
    """True for an address on the public internet (IPv4 inside IPv6 is judged as the IPv4 it carries)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_public(embedded)
        if address in _SIX_TO_FOUR:
            return False
    return address.is_global and not address.is_multicast


def _allowed(address: Address, port: int) -> bool:
    exempt = {entry.strip() for entry in getattr(settings, "OUTGOING_HTTP_ALLOW", []) if entry.strip()}
    return address_public(address) or f"{address}:{port}" in exempt or f"[{address}]:{port}" in exempt


def addresses_resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, all of them allowed, or DestinationRefused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise DestinationRefused(_("送信先のホスト名を解決できません。")) from error
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused(_("送信先のホスト名を解決できません。"))
    # One refused address refuses the name: otherwise a name with a public and a private address
    # would reach the private one whenever the resolver happened to list it first.
    if not all(_allowed(address, port) for address in addresses):
        raise DestinationRefused(
            _(
                "社内ネットワーク・ループバック・リンクローカルなど、インターネット上にない送信先は登録できません。"
            )
        )
    return addresses


def destination_check(url: str) -> None:
    """Refuse anything but an http(s) URL whose host resolves to public addresses only (at save time)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise DestinationRefused(_("送信先 URL の形式が正しくありません。")) from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(_("送信先 URL は http:// または https:// で始めてください。"))
    if parts.username or parts.password:
        raise DestinationRefused(_("送信先 URL にユーザー名やパスワードは含められません。"))
    addresses_resolve(parts.hostname, port)


@dataclass
class _Budget:
    deadline: float
    bytes_left: int


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("egress_budget", default=None)


def _remaining(timeout: float | None) -> float | None:
    budget = _budget.get()
    if budget is None:
        return timeout
    left = budget.deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("time budget spent")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A connection whose reads and writes stay within the current request's time and size budget."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, _remaining(timeout))
        budget = _budget.get()
        if budget is not None:
            budget.bytes_left -= len(data)
            if budget.bytes_left < 0:
                raise httpcore.ReadError("answer too large")
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves the name itself, checks every address, and connects to a checked address."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = addresses_resolve(host, port)
        except DestinationRefused as error:
            raise httpcore.ConnectError("destination refused") from error
        stream = super().connect_tcp(
            str(addresses[0]), port, _remaining(timeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("destination refused")


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, *, max_connections: int) -> None:
        super().__init__()
        # httpx has no public hook for the network backend; its transport is a thin adapter over this pool.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=_CheckedBackend(),
        )


def client_new(*, timeout: float, max_connections: int = 100) -> httpx.Client:
    """A thread-safe client that goes only where the rule allows and never follows redirects."""
    return httpx.Client(
        transport=_CheckedTransport(max_connections=max_connections),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def bounded_send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    seconds: float,
    max_bytes: int = 64 * 1024,
) -> int:
    """Send one request within `seconds` in all, reading at most `max_bytes` of answer; the HTTP status.

    Raises httpx.HTTPError when the destination is refused, the time runs out or the answer is too large.
    """
    token = _budget.set(_Budget(deadline=time.monotonic() + seconds, bytes_left=max_bytes))
    try:
        with client.stream(method, url, content=content, headers=headers) as response:
            for _chunk in response.iter_raw():
                pass
            return response.status_code
    finally:
        _budget.reset(token)
