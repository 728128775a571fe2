"""What the API guard (monitor/api/guard.py: the %00 check and the security headers on every
response) costs per request, measured in-process against the same app without it and with a
middleware that does nothing (the floor for any middleware at all).

    .venv/bin/python bench/guard.py

Raw ASGI calls of a trivial async route (/docs/swagger-init.js), no network, no database; the three
stacks alternate in rounds and the median round is reported, so a noisy machine hurts all three alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from starlette.middleware import Middleware

from monitor.api import create_app
from monitor.api.guard import Guard
from monitor.config import Settings
from monitor.db import make_engine, make_session_factory


class PassThrough:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


def stacks():
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-guard-"))
    settings = Settings(database_url=f"sqlite:///{folder / 'fenghuo.db'}")
    app = create_app(settings, make_session_factory(make_engine(settings.database_url)))
    built = {}
    for name, middleware in (("guard", [Middleware(Guard)]), ("none", []), ("pass-through", [Middleware(PassThrough)])):
        app.user_middleware = middleware
        built[name] = app.build_middleware_stack()
    return app, built


async def measure(rounds: int, requests: int) -> dict:
    app, built = stacks()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/docs/swagger-init.js", "raw_path": b"/docs/swagger-init.js", "query_string": b"a=1&b=2",
        "root_path": "", "headers": [(b"host", b"fenghuo.test")], "client": ("127.0.0.1", 1),
        "server": ("fenghuo.test", 80), "app": app,
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def run(stack, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await stack(dict(scope), receive, send)
        return (time.perf_counter() - start) / n * 1e6

    for stack in built.values():  # warm-up
        await run(stack, 500)
    samples = {name: [] for name in built}
    for _ in range(rounds):
        for name, stack in built.items():
            samples[name].append(await run(stack, requests))
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    return {
        "microseconds_per_request": medians,
        "guard_minus_none": round(medians["guard"] - medians["none"], 1),
        "guard_minus_pass_through": round(medians["guard"] - medians["pass-through"], 1),
        "ratio_guard_to_none": round(medians["guard"] / medians["none"], 3),
        "rounds": rounds, "requests_per_round": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure(args.rounds, args.requests))
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
