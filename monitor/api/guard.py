"""What every response carries and every request must pass, whatever route it reaches.

Security headers: `X-Content-Type-Options: nosniff` (a browser never reads a JSON error or a
text/plain body as HTML or script) and a Content-Security-Policy. A route that serves a page sets
its own policy (the console, /docs, /ack); everything else — JSON, Prometheus text, files — gets
one that lets a browser run, load and embed nothing, should it ever be shown as a document.

The URL guard refuses a NUL character (`%00`) in the path or the query string with a 400 before
any route sees it: PostgreSQL cannot hold NUL in text, so an id or filter carrying one would be a
server error deep in a query rather than an answer. Request bodies are checked by their
models (monitor/api/schemas.py: `Text`, `Input`).

A domain error from the stores (monitor/errors.py) becomes its HTTP status here, and only here:
not found 404, conflict 409, invalid 422, with the message as `detail`.

The 422 handler renders what FastAPI's does (`{"detail": [{type, loc, msg, input}]}`), except that
an echoed input holding a lone surrogate shows U+FFFD in its place: the surrogate has no UTF-8 form,
and the report of bad input must not itself fail as a 500.
"""

from __future__ import annotations

import json
import re

import structlog
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from monitor.errors import DomainError, ErrorKind

log = structlog.get_logger("fenghuo.api")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_NUL = b"%00"


class Guard:
    """Pure ASGI middleware (no per-request task or body buffering, so streams pass untouched)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL in scope.get("query_string", b"") or "\x00" in scope["path"] or _NUL in scope.get("raw_path", b""):
            await _refuse(send, "the URL contains a NUL character (%00), which no parameter may hold")
            return

        started = False

        async def with_headers(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # Answered here, not by Starlette's outermost error handler, so that a 500 too is JSON
            # in the documented shape and carries nosniff and the CSP. Logged with its traceback.
            log.exception("request_failed", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            await _refuse(send, "internal error: the server log has the details (request_failed)", status=500)


async def _refuse(send, detail: str, status: int = 400) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"), (b"content-security-policy", API_CSP.encode()),
        ],
    })
    await send({"type": "http.response.body", "body": body})


_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str from json.loads, only an unpaired one


def _printable(value):
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, dict):
        return {_printable(key): _printable(item) for key, item in value.items()}
    return value


async def validation_error(request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _printable(jsonable_encoder(exc.errors()))}, status_code=422)


HTTP_STATUS = {ErrorKind.not_found: 404, ErrorKind.conflict: 409, ErrorKind.invalid: 422}


def http_status(error: DomainError) -> int:
    return HTTP_STATUS[error.kind]


async def domain_error(request, exc: DomainError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))
