"""`fenghuo demo` as a user runs it: a real process, real ports, items arriving, a clean stop."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow  # each test starts the real service as a process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_api(tmp_path, *options: str) -> tuple[subprocess.Popen, int, dict[str, str]]:
    """`fenghuo api OPTIONS` on a free port over an empty SQLite database, with one outlet that is
    never fetched (the API process fetches nothing); its stderr is piped for the test to read."""
    port = free_port()
    outlets = tmp_path / "outlets.yaml"
    outlets.write_text("outlets:\n  - {id: nowhere, name: 无处, kind: rss, url: 'http://127.0.0.1:9/feed', tier: forum}\n",
                       encoding="utf-8")
    env = {**os.environ, "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}", "FENGHUO_API_PORT": str(port),
           "FENGHUO_OUTLETS_FILE": str(outlets), "FENGHUO_LOG_FORMAT": "json"}
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "api", *options], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return process, port, env


def test_demo_serves_items_from_every_sample_outlet_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "FENGHUO_SWEEP_INTERVAL": "1",
        "FENGHUO_LOG_FORMAT": "json",
    }
    created = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "token", "create", "tester", "--role", "viewer"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "demo", "--port", str(port), "--step", "5"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        outlets: list[dict] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                outlets = httpx.get(f"{base}/api/v1/outlets", headers=headers, timeout=2).json()
            except httpx.HTTPError:
                continue
            if len(outlets) == 6 and all(o["items_24h"] >= 10 for o in outlets):
                break
        assert len(outlets) == 6, outlets
        assert all(o["items_24h"] >= 10 and o["healthy"] for o in outlets), outlets
        assert httpx.get(f"{base}/readyz", timeout=2).json()["scheduler"] == "alive"
        items = httpx.get(f"{base}/api/v1/items", params={"limit": 100}, headers=headers, timeout=2).json()
        assert {item["language"] for item in items} == {"zh"}
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-2000:]
    assert "API token (admin, for this demo): fh_" in stdout
    assert '"event": "fetched"' in stderr
    assert "Traceback" not in stderr



def test_the_running_service_pushes_the_demo_story_to_a_chat_webhook(tmp_path, farm):
    import json

    from tests.farm import Reply

    farm.route("/duty", Reply(200, b"{}"))
    notify = tmp_path / "notify.yaml"
    notify.write_text(
        "channels:\n  duty: {kind: generic, url_env: DUTY_URL}\n"
        "routes:\n  blue: [duty]\n  yellow: [duty]\n  orange: [duty]\n  red: [duty]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "FENGHUO_SWEEP_INTERVAL": "1", "FENGHUO_ANALYSIS_INTERVAL": "1",
        "FENGHUO_NOTIFY_FILE": str(notify), "DUTY_URL": farm.url("/duty"), "FENGHUO_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "demo", "--port", str(free_port()), "--step", "1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def story_pushes():
        return [a for a in (json.loads(body)["alert"] for body in farm.received) if "江城" in a["title"]]

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not story_pushes():
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        _out, stderr = process.communicate(timeout=30)
    pushed = story_pushes()
    assert pushed, stderr[-3000:]
    assert pushed[0]["level"] in ("blue", "yellow", "orange", "red") and pushed[0]["alerted_at"]
    assert all(h["idempotency-key"].startswith("alert-") for p, h in farm.requests if p == "/duty")


def test_fenghuo_api_serves_the_api_and_the_console_without_fetching(tmp_path):
    """`fenghuo api` (beside workers): the API and the console answer, /readyz checks the database
    and says the scheduler is not part of this process, and nothing is fetched."""
    process, port, env = _start_api(tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, "fenghuo api never answered"
        assert ready.json()["scheduler"] == "not_part_of_this_process"
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "烽火" in page.text
        assert httpx.get(f"{base}/api/v1/alerts").status_code == 401
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        assert "/api/v1/reports/{week}/{name}" in paths
        time.sleep(1.5)  # a worker would have fetched the outlet by now (its first sweep is at start)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode == 0, (process.returncode, process.stderr.read()[-3000:])
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{tmp_path / 'api.db'}").connect() as connection:
        assert connection.execute(text("SELECT last_fetch_at FROM outlets")).scalar() is None  # never fetched


def _wait_until_answering(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{base} never answered")


def test_sigterm_stops_fenghuo_run_as_cleanly_as_ctrl_c(tmp_path, farm):
    """`docker stop` sends SIGTERM: the service finishes its shutdown (fetches in flight, the parse
    pool, leadership) and exits 0, instead of dying mid-way with leaked semaphores (exit 143)."""
    from pathlib import Path

    from tests.farm import Reply

    feed = Path(__file__).parent / "fixtures" / "feeds" / "atom.xml"
    farm.route("/feed", Reply(200, feed.read_bytes(), {"Content-Type": "application/atom+xml"}))
    outlets = tmp_path / "outlets.yaml"
    outlets.write_text(f"outlets:\n  - {{id: local, name: 本地, kind: rss, url: '{farm.url('/feed')}', tier: forum}}\n",
                       encoding="utf-8")
    port = free_port()
    env = {**os.environ, "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "FENGHUO_API_PORT": str(port),
           "FENGHUO_OUTLETS_FILE": str(outlets), "FENGHUO_ALLOW_NETWORKS": "127.0.0.0/8",
           "FENGHUO_SWEEP_INTERVAL": "1", "FENGHUO_LOG_FORMAT": "json"}
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not farm.hits["/feed"]:
            time.sleep(0.2)
        assert farm.hits["/feed"], "the outlet was never fetched"
    finally:
        process.send_signal(signal.SIGTERM)
        _out, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, (process.returncode, stderr[-3000:])
    assert "leaked semaphore" not in stderr
    assert '"event": "service_stopped"' in stderr, stderr[-3000:]


def test_sigterm_stops_fenghuo_api_with_exit_0(tmp_path):
    process, port, env = _start_api(tmp_path)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, (process.returncode, stderr[-3000:])
    assert "Traceback" not in stderr


def test_demo_on_a_taken_port_says_so_before_anything_else(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "demo", "--port", str(port)], cwd=tmp_path, capture_output=True,
            text=True, timeout=60, env={**os.environ, "FENGHUO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"},
        )
    assert result.returncode == 2, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr
    assert "API token" not in result.stdout and "Traceback" not in result.stderr  # before: banner, then 3 tracebacks


@pytest.mark.timeout(300)  # three processes start, each importing the product: slow on a busy machine
def test_fenghuo_api_workers_serves_from_several_processes_and_a_revocation_holds_in_all(tmp_path):
    """`fenghuo api --workers 2`: two processes answer on the one port; a token revoked with the
    CLI is refused at once by both, though each remembers token lookups for a few seconds."""
    process, port, env = _start_api(tmp_path, "--workers", "2")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(base, 240)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_api_processes(process.pid)) < 2:
            time.sleep(0.2)
        assert len(_api_processes(process.pid)) == 2
        created = subprocess.run([sys.executable, "-m", "monitor.cli", "token", "create", "wall", "--role", "viewer"],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        headers = {"Authorization": f"Bearer {created.stdout.split()[-1]}"}
        with httpx.Client(base_url=base, headers=headers) as client:  # new connections: both processes answer
            assert {httpx.get(f"{base}/api/v1/alerts", headers=headers).status_code for _ in range(20)} == {200}
            subprocess.run([sys.executable, "-m", "monitor.cli", "token", "revoke", "wall"], cwd=tmp_path, env=env,
                           capture_output=True, check=True)
            assert {client.get("/api/v1/alerts").status_code for _ in range(5)} == {401}
            assert {httpx.get(f"{base}/api/v1/alerts", headers=headers).status_code for _ in range(20)} == {401}
    finally:
        process.send_signal(signal.SIGTERM)
        _out, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, (process.returncode, stderr[-3000:])


def _api_processes(parent: int) -> list[int]:
    """The children of `parent` that serve (uvicorn spawns them through multiprocessing)."""
    from pathlib import Path

    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [pid for pid in map(int, children)
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_an_api_process_leaves_its_start_up_heap_out_of_full_collections(tmp_path, monkeypatch):
    """Walking what start-up made (modules, the app, word lists) in every full garbage collection
    stopped the API for 160-180 ms at a time, mid-request: an API process freezes it once built."""
    import gc

    from monitor.service import api_process_app

    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path / 'fenghuo.db'}")
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        api_process_app()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_a_stop_lets_the_jobs_in_flight_finish_and_reports_none_as_failed():
    """APScheduler cancels a running job at shutdown and logs the cancellation as the job's
    failure, with a traceback: a Ctrl-C during an analysis printed one. The stop waits for the
    jobs in flight; one that outlasts the wait ends with a warning."""
    import asyncio
    import logging
    from datetime import UTC, datetime

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.service import RunningJobs, stop_scheduler

    finished, stopped, ended = [], [], []
    failures = []
    handler = logging.Handler()
    handler.emit = lambda record: failures.append(record.getMessage()) if record.levelno >= logging.ERROR else None
    logging.getLogger("apscheduler").addHandler(handler)
    try:
        for seconds, timeout in ((0.3, 5), (30, 0.2)):
            running, started = RunningJobs(), asyncio.Event()

            async def work(seconds=seconds, started=started) -> None:
                started.set()
                await asyncio.sleep(seconds)
                finished.append(seconds)

            scheduler = AsyncIOScheduler(timezone=UTC)
            scheduler.add_job(running.wrap(work, "analyse"), "interval", seconds=60, next_run_time=datetime.now(UTC))
            scheduler.start()
            await asyncio.wait_for(started.wait(), 5)
            tasks = set(running.tasks)
            stopped.append(await stop_scheduler(scheduler, running, timeout=timeout))
            await asyncio.wait(tasks, timeout=5)  # the stopped job's last step
            ended += [(task.cancelled(), task.exception()) for task in tasks]
    finally:
        logging.getLogger("apscheduler").removeHandler(handler)
    assert finished == [0.3] and stopped == [0, 1]  # the short job finished; the long one was stopped
    assert ended == [(False, None), (False, None)]  # neither ended as a failure or a cancellation
    assert failures == []  # and the scheduler reported no job as failed
