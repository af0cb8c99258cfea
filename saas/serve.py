"""daphne, refusing request bodies past their limit (saas/bodylimit.py) before it reads them.

daphne's HTTP layer (Twisted) receives a whole request body, spooling it to a file, and only then calls the
application, queueing the whole body in memory at once: an ASGI middleware comes too late there. Here the
request refuses as soon as the headers declare too much (or a chunked body streams past the limit): it
answers 413 at once, closes its side, throws away what still arrives for a few seconds so the client can
read the answer (what nginx calls a lingering close), then drops the connection. Nothing of the body is
kept and the application never runs.

Run as `python -m saas.serve` with daphne's own arguments (deploy/layout.py::daphne_command).
"""

from __future__ import annotations

import io
import pprint
import sys
from typing import Any

from autobahn.websocket import protocol as autobahn_protocol
from daphne import server as daphne_server
from daphne.access import AccessLogGenerator
from daphne.http_protocol import HTTPFactory, WebRequest

from saas.bodylimit import TOO_LARGE_TEXT, body_limit, too_large_response_head
from saas.redact import secrets_redact

LINGER_SECONDS = 3.0


class _LazyPformat:
    """pprint.pformat computed only if a log line is written: autobahn formats its whole configuration for a
    debug line on every new websocket, logged or not (measured: a tenth of daphne's CPU while 10,000
    watchers connected)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class BoundedRequest(WebRequest):
    """daphne's request with the body limit applied while the body arrives."""

    _limit = 0
    _seen = 0
    _refused = False

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted's name)
        raw_path = bytes(getattr(self.channel, "_path", b"") or b"")
        self._limit = body_limit(raw_path.split(b"?", 1)[0].decode("latin-1"))
        if length is not None and length > self._limit:
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802
        if self._refused:
            return
        self._seen += len(data)
        if self._seen > self._limit:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if not self._refused:
            super().requestReceived(command, path, version)

    def _refuse(self) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        self._refused = True
        self.content = io.BytesIO()
        channel: Any = self.channel
        transport = channel.transport
        # From now on whatever arrives on this connection is dropped unparsed.
        channel.dataReceived = lambda data: None
        transport.write(too_large_response_head() + TOO_LARGE_TEXT)
        transport.loseWriteConnection()
        reactor.callLater(LINGER_SECONDS, _abort, transport)


def _abort(transport: Any) -> None:
    if transport.connected:
        transport.abortConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = BoundedRequest
        return protocol


class RedactingAccessLog(AccessLogGenerator):
    """daphne's access log without the tokens of sign-in, password, acknowledgement and unsubscribe links."""

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": secrets_redact(details["path"])}
        super().__call__(protocol, action, details)


def main() -> None:
    from daphne import cli
    from daphne.cli import CommandLineInterface

    # daphne builds its factory and its access log by these names when the server starts.
    daphne_server.HTTPFactory = BoundedHTTPFactory
    cli.AccessLogGenerator = RedactingAccessLog
    autobahn_protocol.pformat = _LazyPformat  # type: ignore[assignment]
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    sys.argv[0] = "daphne"
    main()
