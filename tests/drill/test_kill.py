"""kill -9 during a drill: the command running it (and the pipeline, with --here) dies mid-push;
nothing of the drill is lost — the deployment finishes it, the push goes out under the same
idempotency key — and nothing of it leaks into what counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.drill.conftest import report, run_until
from tests.drill.test_hidden import counted, publish_real
from tests.farm import Reply


async def test_a_drill_killed_mid_push_loses_nothing_and_leaks_nothing(pipeline, sessions, farm, database_url):
    publish_real(sessions, pipeline.clock.now())
    await run_until(pipeline, lambda: True)
    before = counted(pipeline)
    pushes_before = len(farm.received)
    # the deployment is down (the drill runs --here): on PostgreSQL it hands over the leadership
    pipeline.leadership.release()
    pipeline.grading = None

    farm.route("/duty", Reply(200, b"{}", delay=30))  # the duty room's receiver hangs: mid-push
    env = {**os.environ, "FENGHUO_DATABASE_URL": database_url,
           "FENGHUO_NOTIFY_FILE": str(pipeline.settings.notify_file), "FENGHUO_DELIVERY_LEASE": "2s",
           "FENGHUO_LOG_FORMAT": "json"}
    command = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "drill", "--here", "--level", "red", "--by", "演练组"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(farm.received) == pushes_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(farm.received) > pushes_before, "the drill never reached the duty room"
    command.send_signal(signal.SIGKILL)
    command.wait(timeout=10)

    cut = report(pipeline, 1)
    assert cut["items"] == 9 and cut["analysed"] == 9 and cut["alert"]["level"] == "red"
    assert cut["steps"][4]["at"] is None  # died before the push was recorded
    assert counted(pipeline) == before

    farm.route("/duty", Reply(200, b"{}"))
    time.sleep(2.5)  # the dead process's delivery lease runs out
    await run_until(pipeline, lambda: report(pipeline, 1)["steps"][4]["at"] is not None)
    done = report(pipeline, 1)
    assert done["started_by"] == "演练组" and done["items"] == 9
    assert {c["channel"]: c["status"] for c in done["channels"]}["duty"] == "sent"
    keys = [h["idempotency-key"] for path, h in farm.requests if path == "/duty"][-2:]
    assert keys[0] == keys[1]  # the same push, sent again: the receiver can tell
    assert counted(pipeline) == before
