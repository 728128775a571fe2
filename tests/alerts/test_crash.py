"""kill -9 the delivery worker in the middle of a push: the push is sent again after the lease,
with the same idempotency key, and once recorded as sent it is never sent again."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from monitor.alerts.routing import Channel, Routing
from monitor.db.models import Delivery
from monitor.stages.grouping import EventStage
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint
from tests.farm import Reply
from tests.polling import until

pytestmark = pytest.mark.slow  # real delivery processes, one killed


def run_worker(env, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "deliver", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_a_worker_killed_mid_push_loses_nothing_and_repeats_nothing_sent(sessions, clock, tmp_path, farm, database_url):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing({"duty": Channel("duty", "generic", farm.url("/hook"))}, {"yellow": ["duty"]})
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # yellow: one push queued

    notify = tmp_path / "notify.yaml"
    notify.write_text("channels:\n  duty: {kind: generic, url_env: DUTY_URL}\nroutes:\n  yellow: [duty]\n", encoding="utf-8")
    env = {
        **os.environ, "FENGHUO_DATABASE_URL": database_url, "FENGHUO_NOTIFY_FILE": str(notify),
        "DUTY_URL": farm.url("/hook"), "FENGHUO_DELIVERY_LEASE": "2s", "FENGHUO_LOG_FORMAT": "json",
    }
    farm.route("/hook", Reply(200, delay=30))  # the receiver hangs: the worker is mid-push

    worker = run_worker(env)
    deadline = time.monotonic() + 30
    while not farm.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert farm.received, "the worker never reached the receiver"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    with sessions() as session:
        (delivery,) = session.scalars(select(Delivery))
    assert delivery.status == "sending" and delivery.attempts == 0  # died before recording

    farm.route("/hook", Reply(200))
    until(lambda: datetime.now(UTC) > delivery.lease_until, seconds=10, what="the dead worker's lease running out")
    again = run_worker(env, "--once")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "1 pushes delivered" in out
    keys = [headers["idempotency-key"] for path, headers in farm.requests if path == "/hook"]
    assert len(keys) == 2 and keys[0] == keys[1]  # at least once, and the receiver can tell

    third = run_worker(env, "--once")
    out, _ = third.communicate(timeout=60)
    assert "0 pushes delivered" in out
    assert len([p for p, _ in farm.requests if p == "/hook"]) == 2  # recorded as sent: never again
    with sessions() as session:
        (delivery,) = session.scalars(select(Delivery))
    assert (delivery.status, delivery.attempts) == ("sent", 1)
