"""Several `fenghuo worker` processes on one PostgreSQL: each due outlet fetched once per interval,
one analysis leader at a time, and a worker killed mid-fetch loses nothing (its lease runs out and
another worker fetches the outlet). Real processes, a real server, bounded in time."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.db import make_engine, make_session_factory
from monitor.db.leadership import Leadership
from monitor.db.models import Delivery, Escalation, Event, EventItem, Item, ItemAnalysis
from tests.farm import Reply
from tests.polling import until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # real worker processes, minutes

FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{n}</title>'
        "<item><title>江城水务{n}号片区停水 居民不满</title><link>{base}/a/{n}</link>"
        "<description>网友投诉江城水务集团{n}号片区连续停水，没有任何通知，质疑管理混乱。</description></item>"
        "</channel></rss>")


@pytest.fixture
def pg_url(postgres_url):
    return postgres_url


def test_one_leader_at_a_time_and_the_next_takes_over(pg_url):
    engine = make_engine(pg_url)
    first, second = Leadership(engine), Leadership(engine)
    assert first.lead() is True
    assert second.lead() is False
    assert first.lead() is True  # still
    first._connection.invalidate()  # the leader's connection dies (as with kill -9)
    first._connection = None
    # PostgreSQL frees the advisory lock a moment after the client's connection drops (its backend
    # has to notice and exit): the next worker takes over at one of its next tries, as the
    # service's analysis loop does, not necessarily at the first.
    deadline = time.monotonic() + 10
    while not second.lead():
        assert time.monotonic() < deadline, "the second worker never took over"
        time.sleep(0.05)
    second.release()
    engine.dispose()


class Timed:
    """Farm routes that remember when each feed was fetched; `slow` answers its first request
    after `delay` seconds."""

    def __init__(self, farm, outlets: int, slow: str | None = None, delay: float = 0) -> None:
        self.when: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        for n in range(outlets):
            path = f"/feed/{n}"
            body = FEED.format(n=n, base=farm.base).encode()

            def reply(headers, path=path, body=body):
                with self.lock:
                    self.when[path].append(time.monotonic())
                    first = len(self.when[path]) == 1
                return Reply(200, body, delay=delay if path == slow and first else 0)

            farm.route(path, reply)
        farm.route("/robots.txt", Reply(404))


def start_worker(env):
    """A `fenghuo worker` process; its log goes to a file (a pipe nobody reads could fill and
    stall it), readable as worker.log_text()."""
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    worker = subprocess.Popen([sys.executable, "-m", "monitor.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=log, text=True)
    worker.log_text = lambda: Path(log.name).read_text(encoding="utf-8", errors="replace")
    return worker


def worker_env(tmp_path, farm, url, outlets: int, **extra):
    lines = ["outlets:"]
    for n in range(outlets):
        lines.append(f"  - {{id: o{n}, name: 论坛{n}, kind: rss, url: '{farm.url(f'/feed/{n}')}', tier: forum,"
                     " interval: 10s, min_interval: 10s, max_interval: 10s}")
    config = tmp_path / "outlets.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {**os.environ, "FENGHUO_DATABASE_URL": url, "FENGHUO_OUTLETS_FILE": str(config),
            "FENGHUO_ALLOW_NETWORKS": "127.0.0.0/8", "FENGHUO_PER_HOST_DELAY": "0", "FENGHUO_SWEEP_INTERVAL": "0.5s",
            "FENGHUO_ANALYSIS_INTERVAL": "1s", "FENGHUO_LOG_FORMAT": "json", **extra}


def stop(*workers):
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


RUN_SECONDS = 120
FETCHES = RUN_SECONDS // 10 - 1  # each outlet's fetches in two minutes of 10-s intervals


@pytest.mark.timeout(RUN_SECONDS + 120)
def test_two_workers_fetch_each_outlet_once_per_interval(pg_url, farm, tmp_path):
    outlets = 12
    timed = Timed(farm, outlets)
    env = worker_env(tmp_path, farm, pg_url, outlets)
    workers = [start_worker(env), start_worker(env)]
    sessions = make_session_factory(make_engine(pg_url))

    def done() -> bool:
        """Eleven fetches of each outlet (about 110 s of 10-s intervals, both workers sweeping every
        0.5 s), and every item scored and grouped by the one leader."""
        with timed.lock:
            fetched = len(timed.when) == outlets and all(len(m) >= FETCHES for m in timed.when.values())
        if not fetched:
            return False
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(EventItem)) == outlets

    try:
        until(done, seconds=RUN_SECONDS + 40, every=1, what=f"{FETCHES} fetches of every outlet and all grouped")
    finally:
        stop(*workers)
    for worker in workers:
        assert worker.returncode == 0, worker.log_text()[-2000:]
    assert len(timed.when) == outlets
    for path, moments in timed.when.items():
        gaps = [b - a for a, b in zip(moments, moments[1:])]
        # Once per interval: never twice within one, and never an interval skipped (the farm answers
        # at once), however long the workers took to start on a busy machine.
        assert len(moments) >= FETCHES, f"{path} fetched {len(moments)} times"
        assert all(gap > 9 for gap in gaps), f"{path} fetched twice within one interval: {gaps}"
        assert all(gap < 19 for gap in gaps), f"{path} skipped an interval: {gaps}"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == outlets  # each item stored once
        # One leader analysed and grouped them, each once: the twelve reports of one template
        # are one story.
        assert session.scalar(select(func.count()).select_from(ItemAnalysis)) == outlets
        assert session.scalar(select(func.count()).select_from(EventItem)) == outlets
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_a_worker_killed_mid_fetch_loses_nothing(pg_url, farm, tmp_path):
    timed = Timed(farm, 2, slow="/feed/0", delay=8)
    env = worker_env(tmp_path, farm, pg_url, 2, FENGHUO_FETCH_LEASE="4s")
    first = start_worker(env)
    deadline = time.monotonic() + 30
    while not timed.when["/feed/0"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert timed.when["/feed/0"], "the first worker never fetched"
    first.send_signal(signal.SIGKILL)  # mid-fetch: the answer is still 8 s away
    first.wait(timeout=10)
    second = start_worker(env)
    try:
        deadline = time.monotonic() + 40
        sessions = make_session_factory(make_engine(pg_url))
        while time.monotonic() < deadline:
            with sessions() as session:
                if session.scalar(select(func.count()).select_from(Item).where(Item.outlet_id == "o0")):
                    break
            time.sleep(0.5)
    finally:
        stop(second)
    with sessions() as session:
        stored = session.scalars(select(Item.outlet_id).order_by(Item.outlet_id)).all()
    assert stored == ["o0", "o1"]  # the killed fetch was taken over after its lease; nothing twice
    assert len(timed.when["/feed/0"]) >= 2


def _admin(url):
    return make_engine(url).execution_options(isolation_level="AUTOCOMMIT")


def test_the_database_refusing_writes_for_a_while_loses_nothing(pg_url, farm, tmp_path):
    """While it runs, the worker's role may not write for a fetch interval (as when a disk fills
    or a primary is demoted): claims fail with the reason in the log, the worker keeps running,
    and once writes are allowed again every item is stored, once."""
    from sqlalchemy import text

    from monitor.db.models import Outlet

    admin = _admin(pg_url)
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'fenghuo_app'")):
            connection.execute(text("CREATE ROLE fenghuo_app LOGIN"))
        connection.execute(text("GRANT ALL ON ALL TABLES IN SCHEMA public TO fenghuo_app"))
        connection.execute(text("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO fenghuo_app"))
    empty = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    for n in range(4):
        farm.route(f"/feed/{n}", Reply(200, empty.encode()))
    farm.route("/robots.txt", Reply(404))
    app_url = pg_url.replace("postgres@", "fenghuo_app@", 1)
    worker = start_worker(worker_env(tmp_path, farm, app_url, 4))
    sessions = make_session_factory(make_engine(pg_url))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the first round: every outlet fetched, nothing new
            with sessions() as session:
                if session.scalar(select(func.count()).select_from(Outlet).where(Outlet.last_success_at.is_not(None))) == 4:
                    break
            time.sleep(0.3)
        with admin.connect() as connection:
            connection.execute(text("REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM fenghuo_app"))
        Timed(farm, 4)  # now each feed has an item
        time.sleep(12)  # more than an interval with no writes allowed
        assert worker.poll() is None, "the worker died while the database refused writes"
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Item)) == 0
        with admin.connect() as connection:
            connection.execute(text("GRANT ALL ON ALL TABLES IN SCHEMA public TO fenghuo_app"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as session:
                if session.scalar(select(func.count()).select_from(Item)) == 4:
                    break
            time.sleep(0.5)
    finally:
        stop(worker)
        with admin.connect() as connection:
            connection.execute(text("GRANT ALL ON ALL TABLES IN SCHEMA public TO fenghuo_app"))
        admin.dispose()
    assert "permission denied" in worker.log_text()  # said in the log, not swallowed
    with sessions() as session:
        assert sorted(session.scalars(select(Item.outlet_id))) == ["o0", "o1", "o2", "o3"]


def restart_postgres() -> None:
    """Restart the throwaway test cluster (scripts/test.sh says where it lives)."""
    data = Path(os.environ["FENGHUO_TEST_POSTGRES_DATA"])
    pg_ctl = next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), None) or Path(shutil.which("pg_ctl"))
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # -l: the new server logs to a file, not to our pipes (which would then never close).
    subprocess.run([*as_owner, str(pg_ctl), "-D", str(data), "-l", str(data.parent / "server.log"), "restart",
                    "-m", "fast", "-w"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@pytest.mark.parametrize("fault", ["connections cut", pytest.param("server restarted", marks=pytest.mark.serial)])
def test_a_database_outage_under_load_loses_nothing(pg_url, farm, tmp_path, fault):
    """While the worker works, the server cuts every connection, or PostgreSQL itself restarts:
    the worker reconnects; afterwards every item is stored, scored and in its event once, the
    escalation log has no entry twice, and every push went out, none twice."""
    from sqlalchemy import text

    if fault == "server restarted" and not os.environ.get("FENGHUO_TEST_POSTGRES_DATA"):
        if os.environ.get("CI"):
            raise RuntimeError("CI must restart its own PostgreSQL here: scripts/test.sh sets FENGHUO_TEST_POSTGRES_DATA")
        pytest.skip("not our PostgreSQL to restart (FENGHUO_TEST_POSTGRES_DATA unset)")

    Timed(farm, 4)
    keys: list[str] = []
    farm.route("/hook", lambda headers: keys.append(headers["idempotency-key"]) or Reply(200, b"{}"))
    notify = tmp_path / "notify.yaml"
    notify.write_text("channels: {duty: {kind: generic, url_env: DUTY_HOOK}}\n"
                      "routes: {blue: [duty], yellow: [duty], orange: [duty], red: [duty]}\n", encoding="utf-8")
    # A push whose result could not be recorded while the database was away stays leased
    # ('sending') until its lease runs out and is then sent again: a short lease for the test.
    worker = start_worker(worker_env(tmp_path, farm, pg_url, 4, FENGHUO_NOTIFY_FILE=str(notify),
                                     DUTY_HOOK=farm.url("/hook"), FENGHUO_DELIVERY_LEASE="3s"))
    sessions = make_session_factory(make_engine(pg_url))

    def stored() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(Item))

    def settled() -> bool:
        with sessions() as session:
            grouped = session.scalar(select(func.count()).select_from(EventItem))
            unsent = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status != "sent"))
        return grouped == 8 and unsent == 0

    try:
        deadline = time.monotonic() + 30
        while stored() < 4 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert stored() == 4
        for n in range(4):  # the next round of each feed carries a second item
            farm.route(f"/feed/{n}", Reply(200, FEED.format(n=n, base=farm.base).replace(
                "</channel>", f"<item><title>江城水务{n}号片区恢复供水</title><link>{farm.base}/b/{n}</link>"
                "<description>恢复供水。</description></item></channel>").encode()))
        if fault == "server restarted":
            restart_postgres()
        else:
            admin = _admin(pg_url)
            with admin.connect() as connection:
                cut = connection.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = 'postgres'"
                )).scalar()
            admin.dispose()
            assert cut >= 1
        deadline = time.monotonic() + 30
        while stored() < 8 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert worker.poll() is None, "the worker died when its connections were cut"
        deadline = time.monotonic() + 30  # …and let it finish grading and pushing what it stored
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        stop(worker)
    log_tail = "\n".join(line for line in worker.log_text().splitlines()
                         if '"level": "info"' not in line)[-4000:]  # warnings and errors
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 8
        assert session.scalar(select(func.count(func.distinct(Item.url)))) == 8
        assert session.scalar(select(func.count()).select_from(ItemAnalysis)) == 8
        assert session.scalar(select(func.count()).select_from(EventItem)) == 8, log_tail
        log = session.execute(select(Escalation.event_id, Escalation.kind, Escalation.to_level)).all()
        assert log and len(log) == len(set(log))
        deliveries = session.scalars(select(Delivery)).all()
        assert deliveries and {d.status for d in deliveries} == {"sent"}, (
            [(d.kind, d.status, d.attempts, d.last_error) for d in deliveries], log_tail)
    # Each went out. One in flight as the database went away may arrive twice (at least once),
    # with the same key for the receiver to drop; one recorded as sent is never sent again
    # (tests/alerts/test_crash.py kills a worker mid-push to show that).
    assert sorted(set(keys)) == sorted(d.idempotency_key for d in deliveries)


def test_the_leader_holds_no_open_transaction(pg_url):
    """The lock lives as long as the connection, but an idle transaction would hold back VACUUM."""
    from sqlalchemy import text

    engine = make_engine(pg_url)
    leader = Leadership(engine)
    assert leader.lead() and leader.lead()
    with _admin(pg_url).connect() as connection:
        states = connection.execute(text(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalars().all()
    assert "idle in transaction" not in states
    leader.release()
    engine.dispose()


def test_workers_starting_together_mirror_outlets_yaml_once(pg_url, tmp_path):
    """Two processes start at the same moment on a database without the outlets yet: both come
    up (the second waits for the first's insert), and each outlet is there once."""
    import threading

    from monitor.clock import SystemClock
    from monitor.config import OutletConfig
    from monitor.db.models import Outlet
    from monitor.service import mirror_outlets

    outlets = [OutletConfig(id=f"o{n}", name=f"o{n}", kind="rss", url=f"http://o{n}.invalid/", tier="forum")
               for n in range(50)]
    start = threading.Barrier(2)
    failures = []

    def start_up():  # as each process does after migrating (its own engine and connections)
        sessions = make_session_factory(make_engine(pg_url))
        start.wait()
        try:
            mirror_outlets(sessions, outlets, SystemClock())
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=start_up) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with make_session_factory(make_engine(pg_url))() as session:
        assert session.scalar(select(func.count()).select_from(Outlet)) == 50
