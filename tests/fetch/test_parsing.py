"""Feed parsing in worker processes gives the same answers as in-process, and survives crashes."""

import asyncio
import codecs
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from monitor.fetch.feeds import FeedError
from monitor.fetch.parsing import FeedParsing, ParseError
from tests.conftest import FIXTURES

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def parse_with(parsing: FeedParsing, body: bytes):
    return await parsing.parse(
        body, url="http://example.invalid/news/rss.xml", zone=SHANGHAI, content_type=None,
        encoding_override=None,
    )


async def test_pool_and_in_process_parse_alike():
    body = (FIXTURES / "feeds" / "relative_links.xml").read_bytes()
    pool = FeedParsing(workers=1)
    try:
        in_pool = await parse_with(pool, body)
    finally:
        pool.close()
    in_process = await parse_with(FeedParsing(workers=0), body)
    assert in_pool.entries == in_process.entries
    assert in_pool.ttl == in_process.ttl


async def test_feed_errors_cross_the_process_boundary():
    pool = FeedParsing(workers=1)
    try:
        with pytest.raises(FeedError, match="no feed found"):
            await parse_with(pool, b"<html><body>not a feed</body></html>")
    finally:
        pool.close()


# A job that would run for minutes: punycode's quadratic decoder on 1.28 MB (405 s measured).
WEDGED = partial(codecs.decode, b"\xff-" + b"abcdefgh" * (1280 * 1024 // 8), "punycode", "replace")
FEED = (FIXTURES / "feeds" / "relative_links.xml").read_bytes()


def gone(pid: int, within: float = 10.0) -> bool:
    """The process has ended and been reaped (or is at least a zombie no longer running)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
            return True
        time.sleep(0.05)
    return False


async def test_a_parse_that_overruns_its_deadline_is_killed_and_the_pool_keeps_working():
    pool = FeedParsing(workers=1)
    try:
        await parse_with(pool, FEED)  # the worker is up
        [wedged_pid] = pool.pids()
        with capture_logs() as logs:
            started = time.monotonic()
            with pytest.raises(ParseError, match="longer than 1s; the parse process was killed"):
                await pool.run(WEDGED, url="http://example.invalid/wedge", deadline=1)
        assert time.monotonic() - started < 5
        assert gone(wedged_pid), "the overrunning parse process still runs"
        assert any(
            log["event"] == "parse_killed" and log["pids"] == [wedged_pid]
            and log["url"] == "http://example.invalid/wedge" for log in logs
        )
        # A fresh process takes the next job.
        again = await parse_with(pool, FEED)
        assert again.entries
        assert pool.pids() and pool.pids() != [wedged_pid]
    finally:
        pool.close()


async def test_a_parse_its_caller_gives_up_on_is_killed_too():
    """The outlet's own deadline cancels the parse: the job must not run on unseen."""
    pool = FeedParsing(workers=1)
    try:
        await parse_with(pool, FEED)
        [pid] = pool.pids()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(WEDGED, url="http://example.invalid/", deadline=600), 1)
        assert gone(pid)
        assert (await parse_with(pool, FEED)).entries
    finally:
        pool.close()


async def test_other_workers_keep_their_jobs_while_one_is_killed():
    pool = FeedParsing(workers=2)
    try:
        wedged = asyncio.create_task(pool.run(WEDGED, url="http://example.invalid/", deadline=2))
        healthy = [await parse_with(pool, FEED) for _ in range(3)]
        with pytest.raises(ParseError):
            await wedged
        assert all(feed.entries for feed in healthy)
    finally:
        pool.close()


async def test_a_job_queued_behind_a_killed_one_runs_on_the_fresh_process():
    """A worker holds a second job while it runs one; that job is not lost with the process."""
    pool = FeedParsing(workers=1)
    try:
        await parse_with(pool, FEED)
        wedged = asyncio.create_task(pool.run(WEDGED, url="http://example.invalid/", deadline=1))
        await asyncio.sleep(0.2)  # the wedged job is running
        queued = await parse_with(pool, FEED)  # behind it on the only worker
        assert queued.entries
        with pytest.raises(ParseError, match="killed"):
            await wedged
    finally:
        pool.close()


async def test_a_process_that_dies_by_itself_fails_only_its_own_job():
    pool = FeedParsing(workers=1)
    try:
        await parse_with(pool, FEED)
        crash = asyncio.create_task(pool.run(partial(os._exit, 3), url="http://example.invalid/", deadline=30))
        queued = asyncio.create_task(parse_with(pool, FEED))
        with pytest.raises(ParseError, match="died"):
            await crash
        assert (await queued).entries
    finally:
        pool.close()


@pytest.mark.parametrize("workers", [0, 1], ids=["thread", "process"])
async def test_a_large_feed_declaring_punycode_is_decoded_as_text(workers):
    # One invalid UTF-8 byte, then a hyphen and 700 KB of ASCII: obeying charset=punycode meant
    # minutes of CPU in its quadratic decoder.
    entries = "".join(
        f"<item><title>Headline {n}</title><link>http://example.invalid/{n}</link>"
        f"<description>{'abcdefgh' * 200}</description></item>"
        for n in range(400)
    )
    body = (
        b'<?xml version="1.0" encoding="punycode"?><rss version="2.0"><channel><title>\xff-</title>'
        + f"{entries}</channel></rss>".encode()
    )
    assert len(body) > 640 * 1024
    pool = FeedParsing(workers=workers)
    try:
        feed = await pool.parse(
            body, url="http://example.invalid/rss.xml", zone=SHANGHAI,
            content_type="application/rss+xml; charset=punycode", encoding_override=None,
            deadline=60,
        )
    finally:
        pool.close()
    assert feed.encoding.encoding != "punycode"
    assert feed.encoding.ignored == ("header: 'punycode'", "declaration: 'punycode'")
    assert len(feed.entries) == 400
    assert feed.entries[7].title == "Headline 7"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_parse_processes_end_when_the_service_is_killed(tmp_path):
    """kill -9 of a service must not leave its parse processes behind as orphans."""
    script = tmp_path / "service.py"
    script.write_text(
        "import asyncio, time\n"
        "from datetime import timezone\n"
        "from monitor.fetch.parsing import FeedParsing\n"
        "if __name__ == '__main__':  # spawned children import this module again\n"
        "    pool = FeedParsing(workers=1)\n"
        "    rss = b'<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title></channel></rss>'\n"
        "    asyncio.run(pool.parse(rss, url='http://x.invalid/', zone=timezone.utc, content_type=None,\n"
        "                           encoding_override=None))\n"
        "    print('PIDS', *pool.pids(), flush=True)\n"
        "    time.sleep(60)\n",
        encoding="utf-8",
    )
    service = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).parents[2])
    line = ""
    while not line.startswith("PIDS"):
        line = service.stdout.readline()
        assert line, "the service script ended early"
    children = [int(pid) for pid in line.split()[1:]]
    assert children, "no parse process started"
    service.kill()
    service.wait()
    deadline = time.monotonic() + 10
    alive = children
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)]
        time.sleep(0.1)
    assert alive == [], "parse processes outlived the killed service"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"
