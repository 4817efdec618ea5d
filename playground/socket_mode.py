"""Socket Mode on the double: apps.connections.open hands out our own WebSocket URL, the socket says
hello, delivers envelopes and collects the app's acks.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from playground.changes import Changes


@dataclass
class SocketMode(Changes):
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _connections_open(self, token: str) -> web.Response:
        # Socket Mode: the app-level token buys a WebSocket URL (here, our own /socket).
        if not token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        return web.json_response({"ok": True, "url": self.base_url.replace("http", "ws", 1) + "/socket"})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: say hello, deliver queued envelopes, collect the acks."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "double"}})
        await self._notify()
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(frame.data))
                await self._notify()
        self.sockets.remove(ws)
        return ws

    async def send_envelope(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Deliver a Socket Mode envelope over the open connection; returns its envelope_id."""
        await self.wait_until(lambda: bool(self.sockets))
        envelope_id = f"env-{next(self._ts)}"
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": envelope_type != "events_api",
                "retry_attempt": 0,
            }
        )
        return envelope_id
