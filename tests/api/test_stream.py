"""The live alert feed over a real HTTP server: Server-Sent Events that resume from Last-Event-ID."""

import asyncio
import contextlib
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from httpx_sse import connect_sse

from monitor.api import create_app
from monitor.db.tokens import create_token
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint


@pytest.fixture
def timeline(sessions, clock, tmp_path):
    return Timeline(sessions, clock, tmp_path)


@pytest.fixture
def server(db_settings, timeline):
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    app.state.stream_poll_seconds = 0.05
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with timeline.sessions.begin() as session:
        token = create_token(session, name="stream-reader", role="viewer", now=timeline.clock.now())
    yield f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    runner.should_exit = True
    thread.join(timeout=10)


def read(base, headers, count, **params):
    """Connect, take `count` alert events, disconnect; returns their (id, level)."""
    got = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        with connect_sse(client, "GET", "/api/v1/alerts/stream", params=params) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            for message in source.iter_sse():
                if message.event == "alert":
                    got.append((int(message.id), message.json()["level"]))
                    if len(got) == count:
                        break
    return got


def test_the_stream_resumes_after_the_last_event_it_delivered(server, timeline):
    base, headers = server
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    first = read(base, headers, 2, since=0)
    assert [level for _, level in first] == ["blue", "yellow"]

    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 2))  # orange while away
    resumed = read(base, {**headers, "Last-Event-ID": str(first[-1][0])}, 1)
    assert resumed == [(first[-1][0] + 1, "orange")]  # only what was missed, nothing repeated


def test_a_new_alert_arrives_live(server, timeline):
    base, headers = server
    received = []
    reader = threading.Thread(target=lambda: received.extend(read(base, headers, 1)))
    reader.start()
    time.sleep(0.5)  # connected, waiting: the stream starts from now
    timeline.publish("forum-a", *COMPLAINT)
    reader.join(timeout=10)
    assert [level for _, level in received] == ["blue"]


def test_the_stream_needs_a_token(server):
    base, _ = server
    assert httpx.get(f"{base}/api/v1/alerts/stream").status_code == 401


async def test_a_waiting_stream_holds_no_database_connection(server, timeline):
    base, headers = server
    pool = timeline.sessions.kw["bind"].pool
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        async with contextlib.AsyncExitStack() as streams:
            for _ in range(10):
                response = await streams.enter_async_context(client.stream("GET", "/api/v1/alerts/stream"))
                assert response.status_code == 200
            await asyncio.sleep(0.3)  # several poll intervals: the streams are waiting
            assert pool.checkedout() <= 1  # at most one poll in flight, never one per stream
