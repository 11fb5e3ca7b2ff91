"""Slack's side of Socket Mode: a WebSocket server on loopback that speaks the envelope protocol.

The bot's client gets this server's `ws://` URL from `apps.connections.open` (answered by the
Web API stand-in). The server sends `hello`, then envelopes of type `slash_commands`,
`interactive` and `events_api`, and records each acknowledgement by its `envelope_id`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from typing import Any

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode: int, data: bytes) -> bytes:
    """One unmasked, final frame (a server never masks)."""
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + data


def read_exact(conn: socket.socket, n: int) -> bytes:
    """Exactly `n` bytes, or ConnectionError when the peer goes away."""
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_frame(conn: socket.socket) -> tuple[int, bytes]:
    """One frame from the client (clients always mask): its opcode and payload."""
    first, second = read_exact(conn, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exact(conn, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exact(conn, 8))
    mask = read_exact(conn, 4) if second & 0x80 else b"\0\0\0\0"
    data = read_exact(conn, length)
    return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def handshake(conn: socket.socket) -> None:
    """Answer the client's HTTP upgrade request with 101 Switching Protocols."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += read_exact(conn, 1)
    headers = dict(line.split(":", 1) for line in request.decode().split("\r\n")[1:] if ":" in line)
    key = next(v.strip() for k, v in headers.items() if k.strip().lower() == "sec-websocket-key")
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
    )


class SlackSocket:
    """The WebSocket server; `url` is what `apps.connections.open` answers."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conn: socket.socket | None = None
        self._acks: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, float] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """The ws:// URL of this server."""
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=test"

    def __enter__(self) -> SlackSocket:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._cond:
            self._closing = True
            if self._conn is not None:
                self._conn.close()
        self._listener.close()
        self._thread.join(timeout=5)

    def hang_up(self) -> None:
        """Close the bot's connection from Slack's side (the client then stops at once)."""
        with self._cond:
            if self._conn is None:
                return
            try:
                self._conn.sendall(frame(CLOSE, struct.pack("!H", 1000)))
                self._conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def wait_connected(self, timeout: float = 10) -> None:
        """Wait until the bot has connected and been greeted."""
        with self._cond:
            assert self._cond.wait_for(lambda: self._conn is not None, timeout), "no connection"

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope; its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._cond:
            assert self._conn is not None, "the bot is not connected"
            self._sent_at[envelope_id] = time.monotonic()
            self._conn.sendall(frame(TEXT, json.dumps(envelope).encode()))
        return envelope_id

    def send_envelope(self, envelope: Any) -> None:
        """Send any JSON as one message, as a broken (or hostile) Slack might."""
        with self._cond:
            assert self._conn is not None, "the bot is not connected"
            if isinstance(envelope, dict) and isinstance(envelope.get("envelope_id"), str):
                self._sent_at[envelope["envelope_id"]] = time.monotonic()
            self._conn.sendall(frame(TEXT, json.dumps(envelope).encode()))

    def acknowledged(self) -> set[str]:
        """The envelope ids acknowledged so far."""
        with self._cond:
            return set(self._acks)

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> tuple[dict[str, Any], float]:
        """The bot's acknowledgement of an envelope and how long it took (Slack waits 3 s)."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: envelope_id in self._acks, timeout)
            assert arrived, f"envelope {envelope_id} not acknowledged within {timeout}s"
            ack = self._acks[envelope_id]
            return ack, ack["_at"] - self._sent_at[envelope_id]

    def _accept(self) -> None:
        # Closing a listening socket does not wake a blocked accept(), so it polls instead.
        self._listener.settimeout(0.1)
        while not self._closing:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            handshake(conn)
            hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
            conn.sendall(frame(TEXT, json.dumps(hello).encode()))
            with self._cond:
                self._conn = conn
                self._cond.notify_all()
            self._read(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()

    def _read(self, conn: socket.socket) -> None:
        while True:
            opcode, data = read_frame(conn)
            if opcode == PING:
                with self._cond:
                    conn.sendall(frame(PONG, data))
            elif opcode == CLOSE:
                return
            elif opcode == TEXT:
                message = json.loads(data)
                with self._cond:
                    self._acks[message["envelope_id"]] = {**message, "_at": time.monotonic()}
                    self._cond.notify_all()
