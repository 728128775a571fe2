"""The outlet farm: a real HTTP server on 127.0.0.1 whose every path behaves as a test says.

Tests fetch from it over real sockets, so timeouts, redirects, compression and connection errors
are the network's, not a mock's.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    chunked: bool = False  # no Content-Length; body sent in chunks
    drip: float = 0.0  # seconds between chunks (slow body)


Route = Reply | Callable[[dict[str, str]], Reply]


class _QuietServer(ThreadingHTTPServer):
    """A client going away is what many tests make happen (a timeout, a size limit, a closed
    keep-alive connection): not an error worth a traceback in the middle of the test output.
    Anything else still prints one."""

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class Farm:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.prefixes: dict[str, Route] = {}  # path prefix -> route, for URLs with changing queries
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.received: list[bytes] = []  # request bodies, in order
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                farm.received.append(self.rfile.read(length))
                self.do_GET()

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                farm.hits[self.path] += 1
                farm.requests.append((self.path, headers))
                route = farm.routes.get(self.path) or next(
                    (r for prefix, r in farm.prefixes.items() if self.path.startswith(prefix)), None
                )
                if route is None:
                    reply = Reply(404, b"not found")
                else:
                    reply = route(headers) if callable(route) else route
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    step = 64 * 1024
                    for start in range(0, len(reply.body), step):
                        piece = reply.body[start : start + step]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        if reply.drip:
                            time.sleep(reply.drip)
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def route_prefix(self, prefix: str, route: Route) -> None:
        self.routes = {path: r for path, r in self.routes.items() if not path.startswith(prefix)}
        self.prefixes[prefix] = route

    def start(self) -> Farm:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
