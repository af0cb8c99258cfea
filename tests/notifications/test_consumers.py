"""The recruiters' event socket against a real daphne: bad frames are answered, never fatal."""

from __future__ import annotations

import asyncio
import json

from tests.tenants.test_isolation import _login_cookie, _recv_json


def test_invalid_json_is_answered_and_the_socket_stays_usable(live_server_daphne, tenants):
    server = live_server_daphne
    acme = tenants["acme"]
    cookie = _login_cookie(server, acme.host, acme.admin_email)

    async def scenario() -> None:
        async with server.ws_connect(
            acme.host,
            "/ws/events/",
            origin=f"http://{acme.host}:{server.port}",
            additional_headers={"Cookie": cookie},
        ) as socket:
            assert (await _recv_json(socket, 5))["type"] == "hello"
            for frame in ("{not json", "[1, 2]", '"text"', b"\x00\xff binary"):
                await socket.send(frame)
                answer = await _recv_json(socket, 5)
                assert answer["type"] == "error" and "JSON" in answer["message"], frame
            await socket.send(json.dumps({"type": "ping"}))
            assert (await _recv_json(socket, 5)) == {"type": "pong"}

    asyncio.run(scenario())
