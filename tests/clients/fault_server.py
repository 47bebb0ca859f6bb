"""A scriptable HTTP/1.1 server on 127.0.0.1 (raw asyncio, in a thread) for fault injection.

Each request pops the next scripted behaviour (or repeats the default): an answer with any
status/headers/body, a delay before answering (timeouts), a truncated body (Content-Length
larger than what is sent, then close), or a plain close without an answer. Requests are
recorded (method, target, headers, body) so tests can count what reached the wire.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate_to: int | None = None  # send only this many body bytes, then close
    close_only: bool = False  # close the connection without answering


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class FaultServer:
    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    # -- control ----------------------------------------------------------------------
    def start(self) -> FaultServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *replies: Reply) -> FaultServer:
        self.script.extend(replies)
        return self

    # -- serving ----------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = b""
                if int(headers.get("content-length", "0") or 0):
                    body = await reader.readexactly(int(headers["content-length"]))
                self.seen.append(Seen(method, target, headers, body))
                reply = self.script.popleft() if self.script else self.default
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.close_only:
                    break
                status_line = f"HTTP/1.1 {reply.status} X\r\n"
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                payload = reply.body
                head_out = (
                    status_line
                    + f"content-length: {len(payload)}\r\ncontent-type: application/json\r\n"
                    + extra
                    + "\r\n"
                ).encode()
                if reply.truncate_to is not None:
                    writer.write(head_out + payload[: reply.truncate_to])
                    await writer.drain()
                    break
                writer.write(head_out + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
