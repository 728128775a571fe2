"""Feed parsing in worker processes gives the same answers as in-process, and survives crashes."""

import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.fetch.feeds import FeedError
from monitor.fetch.parsing import FeedParsing
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
        "    print('PIDS', *pool._pool._processes, flush=True)\n"
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
