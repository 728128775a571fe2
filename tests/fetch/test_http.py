"""The polite fetcher against a real server on 127.0.0.1 that misbehaves on purpose."""

import asyncio
import gzip
import socket
import threading
import time
import zlib
from datetime import timedelta

import pytest

from monitor.fetch.guard import AddressPolicy, is_public
from monitor.fetch.http import Fetcher, OutcomeKind, parse_retry_after
from tests.conftest import make_settings
from tests.farm import Reply

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
async def fetcher(settings):
    async with Fetcher(settings) as fetcher:
        yield fetcher


async def test_ok_body_and_identifying_user_agent(farm, fetcher, settings):
    url = farm.route("/feed", Reply(body=FEED, headers={"Content-Type": "application/rss+xml"}))
    outcome = await fetcher.fetch(url)
    assert outcome.kind is OutcomeKind.ok
    assert outcome.body == FEED
    headers = dict(farm.requests[-1][1])
    assert headers["user-agent"] == settings.user_agent


async def test_conditional_get_returns_not_modified(farm, fetcher):
    def conditional(headers):
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(body=FEED, headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 00:00:00 GMT"})

    url = farm.route("/feed", conditional)
    first = await fetcher.fetch(url)
    assert (first.kind, first.etag) == (OutcomeKind.ok, '"v1"')
    second = await fetcher.fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.kind is OutcomeKind.not_modified
    assert second.body == b""
    assert farm.requests[-1][1]["if-modified-since"] == "Mon, 23 Nov 2026 00:00:00 GMT"


async def test_short_retry_after_is_waited_out_then_succeeds(farm, fetcher):
    replies = iter([Reply(429, headers={"Retry-After": "1"}), Reply(body=FEED)])
    url = farm.route("/feed", lambda _h: next(replies))
    started = time.monotonic()
    outcome = await fetcher.fetch(url)
    assert outcome.kind is OutcomeKind.ok
    assert outcome.attempts == 2
    assert time.monotonic() - started >= 0.9  # Retry-After honoured, not the 10 ms backoff


async def test_long_retry_after_is_reported_for_rescheduling(farm, fetcher):
    url = farm.route("/feed", Reply(429, headers={"Retry-After": "3600"}))
    outcome = await fetcher.fetch(url)
    assert outcome.kind is OutcomeKind.rate_limited
    assert outcome.retry_after == timedelta(hours=1)
    assert farm.hits["/feed"] == 1  # no hammering while asked to wait
    assert "Retry-After 3600s" in outcome.error


async def test_server_errors_are_retried_with_backoff(farm, fetcher, settings):
    replies = iter([Reply(500), Reply(502), Reply(body=FEED)])
    url = farm.route("/feed", lambda _h: next(replies))
    outcome = await fetcher.fetch(url)
    assert outcome.kind is OutcomeKind.ok
    assert outcome.attempts == 3 == settings.retries + 1


async def test_persistent_server_error_gives_up_with_the_status(farm, fetcher, settings):
    url = farm.route("/feed", Reply(503))
    outcome = await fetcher.fetch(url)
    assert (outcome.kind, outcome.status) == (OutcomeKind.http_error, 503)
    assert outcome.error == "HTTP 503 Service Unavailable"
    assert farm.hits["/feed"] == settings.retries + 1


async def test_client_errors_are_not_retried(farm, fetcher):
    url = farm.route("/gone", Reply(404))
    outcome = await fetcher.fetch(url)
    assert (outcome.kind, outcome.status, farm.hits["/gone"]) == (OutcomeKind.http_error, 404, 1)


async def test_redirects_are_followed_and_loops_stop(farm, fetcher, settings):
    farm.route("/old", Reply(301, headers={"Location": "/new"}))
    farm.route("/new", Reply(body=FEED))
    moved = await fetcher.fetch(farm.url("/old"))
    assert (moved.kind, moved.url) == (OutcomeKind.ok, farm.url("/new"))

    farm.route("/a", Reply(302, headers={"Location": "/b"}))
    farm.route("/b", Reply(302, headers={"Location": "/a"}))
    loop = await fetcher.fetch(farm.url("/a"))
    assert loop.kind is OutcomeKind.too_many_redirects
    assert "loop" in loop.error
    assert farm.hits["/a"] + farm.hits["/b"] == settings.max_redirects + 1


async def test_declared_huge_body_is_refused_before_reading(farm, tmp_path):
    settings = make_settings(tmp_path, max_body_bytes=1024 * 1024)
    farm.route("/huge", Reply(body=b"x" * 10, headers={"Content-Length": str(50 * 1024 * 1024)}))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(farm.url("/huge"))
    assert outcome.kind is OutcomeKind.too_large
    assert "52428800 bytes declared" in outcome.error


async def test_undeclared_huge_body_stops_at_the_cap(farm, tmp_path):
    settings = make_settings(tmp_path, max_body_bytes=1024 * 1024)
    farm.route("/stream", Reply(body=b"x" * (5 * 1024 * 1024), chunked=True))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(farm.url("/stream"))
    assert outcome.kind is OutcomeKind.too_large
    assert outcome.body == b""


async def test_gzip_bomb_is_stopped_at_the_decompressed_cap(farm, tmp_path):
    settings = make_settings(tmp_path, max_decoded_bytes=2 * 1024 * 1024)
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MiB in ~200 KB
    assert len(bomb) < 300 * 1024
    farm.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(farm.url("/bomb"))
    assert outcome.kind is OutcomeKind.too_large
    assert "bomb" in outcome.error


async def test_gzip_and_deflate_bodies_are_decoded(farm, fetcher):
    farm.route("/gz", Reply(body=gzip.compress(FEED), headers={"Content-Encoding": "gzip"}))
    farm.route("/zlib", Reply(body=zlib.compress(FEED), headers={"Content-Encoding": "deflate"}))
    raw = zlib.compressobj(wbits=-15)
    farm.route("/raw", Reply(body=raw.compress(FEED) + raw.flush(), headers={"Content-Encoding": "deflate"}))
    for path in ("/gz", "/zlib", "/raw"):
        outcome = await fetcher.fetch(farm.url(path))
        assert (outcome.kind, outcome.body) == (OutcomeKind.ok, FEED), path


async def test_corrupt_gzip_is_bad_content(farm, fetcher):
    farm.route("/bad", Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    outcome = await fetcher.fetch(farm.url("/bad"))
    assert outcome.kind is OutcomeKind.bad_content
    assert "corrupt gzip" in outcome.error


async def test_slow_server_hits_the_timeout(farm, tmp_path):
    settings = make_settings(
        tmp_path, read_timeout=timedelta(milliseconds=300), request_timeout=timedelta(seconds=2), retries=0
    )
    farm.route("/slow", Reply(body=FEED, delay=1.5))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(farm.url("/slow"))
    assert outcome.kind is OutcomeKind.timeout
    assert "ReadTimeout" in outcome.error


async def test_dripping_body_hits_the_whole_request_deadline(farm, tmp_path):
    settings = make_settings(tmp_path, request_timeout=timedelta(seconds=1), retries=0)
    farm.route("/drip", Reply(body=b"x" * (64 * 1024 * 10), chunked=True, drip=0.3))
    async with Fetcher(settings) as fetcher:
        started = time.monotonic()
        outcome = await fetcher.fetch(farm.url("/drip"))
    assert outcome.kind is OutcomeKind.timeout
    assert time.monotonic() - started < 2.5
    assert "within 1s" in outcome.error


# -- what a retry cannot change is not retried --------------------------------


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed.xml", "gopher://127.0.0.1:70/"])
async def test_a_url_that_is_not_http_fails_once_with_a_clear_message(fetcher, url):
    outcome = await fetcher.fetch(url)
    assert outcome.kind is OutcomeKind.unsupported_url
    assert outcome.attempts == 1
    assert "only http:// and https:// URLs are fetched" in outcome.error


async def test_a_redirect_to_file_is_refused_at_the_hop_and_not_retried(farm, fetcher):
    farm.route("/feed", Reply(302, headers={"Location": "file:///etc/passwd"}))
    outcome = await fetcher.fetch(farm.url("/feed"), respect_robots=False)
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.unsupported_url, 1)
    assert outcome.error == "redirect refused: only http:// and https:// URLs are fetched, not 'file://'"
    assert farm.hits["/feed"] == 1


@pytest.mark.parametrize(
    "headers",
    [{"X-Padding": "a" * 200_000}, {f"X-Header-{n}": "a" * 100 for n in range(2000)}],
    ids=["one-huge-header", "many-headers"],
)
async def test_oversized_response_headers_fail_once_as_a_protocol_error(farm, fetcher, headers):
    farm.route("/feed", Reply(body=FEED, headers=headers))
    outcome = await fetcher.fetch(farm.url("/feed"), respect_robots=False)
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.protocol_error, 1)
    assert "headers larger than we accept" in outcome.error
    assert farm.hits["/feed"] == 1


async def test_a_connection_dropped_before_the_response_is_still_retried(fetcher, settings):
    """A dropped connection is transient, unlike a response that breaks HTTP."""
    accepted = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def drop_every_connection():
            for _ in range(settings.retries + 1):
                connection, _address = listener.accept()
                connection.recv(65536)
                accepted.append(connection)
                connection.close()

        dropper = threading.Thread(target=drop_every_connection, daemon=True)
        dropper.start()
        outcome = await fetcher.fetch(f"http://127.0.0.1:{port}/feed", respect_robots=False)
        dropper.join(5)
    assert outcome.kind is OutcomeKind.network_error
    assert outcome.attempts == settings.retries + 1 == len(accepted)


async def test_dead_server_is_a_network_error(fetcher):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert outcome.kind is OutcomeKind.network_error
    assert "connect failed" in outcome.error


async def test_robots_txt_is_honoured_and_fetched_once(farm, fetcher):
    farm.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n"))
    farm.route("/private/feed", Reply(body=FEED))
    farm.route("/public/feed", Reply(body=FEED))
    blocked = await fetcher.fetch(farm.url("/private/feed"))
    assert blocked.kind is OutcomeKind.robots_disallowed
    assert "robots.txt" in blocked.error
    assert farm.hits["/private/feed"] == 0
    assert (await fetcher.fetch(farm.url("/public/feed"))).ok
    assert (await fetcher.fetch(farm.url("/private/feed"), respect_robots=False)).ok
    assert farm.hits["/robots.txt"] == 1


async def test_per_host_concurrency_and_gap(farm, tmp_path):
    settings = make_settings(tmp_path, per_host_concurrency=2, per_host_delay=timedelta(milliseconds=100))
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(_headers):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        return Reply(body=FEED)

    farm.route("/robots.txt", Reply(404))
    for n in range(6):
        farm.route(f"/f{n}", slow)
    async with Fetcher(settings) as fetcher:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(fetcher.fetch(farm.url(f"/f{n}")) for n in range(6)))
    assert all(outcome.ok for outcome in outcomes)
    assert peak == 2
    # Six starts at least 100 ms apart take at least half a second.
    assert time.monotonic() - started >= 0.5


async def test_private_addresses_are_refused_without_sending_anything(farm, tmp_path):
    settings = make_settings(tmp_path, allow_networks=[])
    url = farm.route("/feed", Reply(body=FEED))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(url, respect_robots=False)
        by_name = await fetcher.fetch(url.replace("127.0.0.1", "localhost"), respect_robots=False)
    assert outcome.kind is OutcomeKind.blocked
    assert "127.0.0.1" in outcome.error and "FENGHUO_ALLOW_NETWORKS" in outcome.error
    assert by_name.kind is OutcomeKind.blocked
    assert farm.hits["/feed"] == 0


async def test_redirect_to_a_disallowed_address_is_refused_at_the_hop(farm, tmp_path):
    # Only 127.0.0.1 is allowed; a redirect to 127.0.0.2 (loopback too, but not allowed) must be
    # refused by the guard before any connection is made.
    settings = make_settings(tmp_path, allow_networks=["127.0.0.1/32"])
    port = farm.server.server_address[1]
    farm.route("/hop", Reply(302, headers={"Location": f"http://127.0.0.2:{port}/internal"}))
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(farm.url("/hop"), respect_robots=False)
    assert outcome.kind is OutcomeKind.blocked
    assert "127.0.0.2" in outcome.error


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.1.2.3", False),
        ("172.16.0.1", False), ("192.168.1.1", False), ("127.0.0.1", False),
        ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
        ("fe80::1", False), ("fc00::1", False), ("::ffff:192.168.1.1", False),
        ("64:ff9b::a00:1", False), ("224.0.0.1", False),
    ],
)
def test_address_classification(address, public):
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


# Deny by "is globally reachable": each row is an address a crawler could be
# pointed at, by an outlet URL or a redirect, and whether the guard lets it be dialled.
GLOBAL_REACHABILITY = [
    # globally reachable: allowed
    ("1.1.1.1", True, "public v4"),
    ("223.5.5.5", True, "public v4 (AliDNS)"),
    ("2400:3200::1", True, "public v6 (AliDNS)"),
    ("2606:4700:4700::1111", True, "public v6"),
    ("::ffff:8.8.8.8", True, "v4-mapped public"),
    ("64:ff9b::808:808", True, "NAT64 of a public v4"),
    ("2002:808:808::1", True, "6to4 of a public v4"),
    # special-purpose IPv4
    ("192.0.0.192", False, "metadata address in 192.0.0.0/24"),
    ("192.0.0.9", False, "192.0.0.0/24, even the anycast is_global allows"),
    ("192.0.0.170", False, "NAT64 discovery"),
    ("169.254.169.254", False, "link-local metadata"),
    ("100.100.100.200", False, "Alibaba Cloud metadata (CGNAT space)"),
    ("100.64.0.1", False, "carrier-grade NAT"),
    ("198.18.0.1", False, "benchmarking"),
    ("192.0.2.1", False, "documentation"),
    ("203.0.113.9", False, "documentation"),
    ("192.88.99.1", False, "6to4 relay anycast"),
    ("240.0.0.1", False, "reserved"),
    ("255.255.255.255", False, "broadcast"),
    ("0.0.0.0", False, "unspecified"),
    ("0.1.2.3", False, "this network"),
    ("127.0.0.53", False, "loopback"),
    ("239.255.255.250", False, "multicast"),
    # special-purpose IPv6
    ("fec0::1", False, "site-local"),
    ("fd00:ec2::254", False, "unique-local (AWS metadata)"),
    ("fe80::1", False, "link-local"),
    ("ff02::1", False, "multicast link"),
    ("ff0e::1", False, "multicast global"),
    ("::", False, "unspecified"),
    ("2001:db8::1", False, "documentation"),
    ("3fff::1", False, "documentation (RFC 9637)"),
    ("100::1", False, "discard"),
    ("64:ff9b:1::a00:1", False, "local-use NAT64"),
    # IPv6 carrying a private IPv4
    ("::ffff:192.0.0.192", False, "v4-mapped metadata"),
    ("::ffff:127.0.0.1", False, "v4-mapped loopback"),
    ("::a00:1", False, "v4-compatible 10.0.0.1"),
    ("::808:808", False, "v4-compatible, deprecated even for a public v4"),
    ("64:ff9b::a9fe:a9fe", False, "NAT64 of 169.254.169.254"),
    ("64:ff9b::c000:c0", False, "NAT64 of 192.0.0.192"),
    ("2002:a00:1::1", False, "6to4 of 10.0.0.1"),
    ("2002:a9fe:a9fe::1", False, "6to4 of 169.254.169.254"),
    ("2002:c000:c0::1", False, "6to4 of 192.0.0.192"),
    ("2002:7f00:1::1", False, "6to4 of 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False, "Teredo, client 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False, "Teredo, client 192.0.2.45"),
]


@pytest.mark.parametrize(
    ("address", "public"), [row[:2] for row in GLOBAL_REACHABILITY],
    ids=[f"{row[0]} {row[2]}" for row in GLOBAL_REACHABILITY],
)
def test_only_globally_reachable_addresses_are_public(address, public):
    import ipaddress

    assert is_public(ipaddress.ip_address(address)) is public


async def test_the_192_0_0_192_metadata_address_is_refused(tmp_path):
    settings = make_settings(tmp_path, allow_networks=[])
    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch("http://192.0.0.192/latest/meta-data/", respect_robots=False)
    assert outcome.kind is OutcomeKind.blocked
    assert "not a globally reachable address" in outcome.error
    assert outcome.attempts == 1


def test_allow_list_opens_only_the_named_networks():
    import ipaddress

    policy = AddressPolicy(["127.0.0.0/8"])
    assert policy.permits(ipaddress.ip_address("127.0.0.5"))
    assert not policy.permits(ipaddress.ip_address("10.0.0.1"))


def test_retry_after_accepts_seconds_and_http_dates():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_retry_after("120") == timedelta(seconds=120)
    assert parse_retry_after("Mon, 23 Nov 2026 08:05:00 GMT", now) == timedelta(minutes=5)
    assert parse_retry_after("soon") is None


async def test_requests_waiting_for_a_hung_host_hold_no_general_slot(farm, tmp_path):
    """Two general slots; one host hangs with three requests for it. The two queued behind the
    hung one wait for their host's turn without a general slot, so another host is served at
    once; they give up after FENGHUO_HOST_WAIT, not after the hung request's timeout, and are
    never sent (nor retried)."""
    settings = make_settings(tmp_path, fetch_concurrency=2, per_host_concurrency=1,
                             host_wait=timedelta(seconds=1), request_timeout=timedelta(seconds=10),
                             read_timeout=timedelta(seconds=10))
    farm.route("/robots.txt", Reply(404))
    farm.route("/hang", Reply(body=FEED, delay=4))
    fast = farm.route("/fast", Reply(body=FEED))
    hung = fast.replace("/fast", "/hang").replace("127.0.0.1", "localhost")  # another host, same server
    async with Fetcher(settings) as fetcher:
        await fetcher.fetch(fast)  # robots.txt of 127.0.0.1 out of the way
        await fetcher.fetch(hung.replace("/hang", "/robots.txt"), respect_robots=False)
        started = time.monotonic()
        queued = [asyncio.create_task(fetcher.fetch(hung, respect_robots=False)) for _ in range(3)]
        deadline = time.monotonic() + 3
        while farm.hits["/hang"] == 0:  # the first of them is at the hung host
            assert time.monotonic() < deadline, "the hung host was never asked"
            await asyncio.sleep(0.01)
        other = await fetcher.fetch(fast)
        served_in = time.monotonic() - started
        outcomes = await asyncio.gather(*queued)
    assert other.ok and served_in < 1, f"the other host waited {served_in:.2f}s"
    gave_up = [o for o in outcomes if o.host_busy]
    assert len(gave_up) == 2
    assert all(o.kind is OutcomeKind.timeout and o.attempts == 1 and "no turn at the host within 1s" in o.error
               and o.elapsed < 2 for o in gave_up)
    assert farm.hits["/hang"] == 1  # the queued requests were never sent


async def test_a_queue_of_politeness_gaps_longer_than_the_host_wait_gives_up(farm, tmp_path):
    settings = make_settings(tmp_path, per_host_concurrency=4, per_host_delay=timedelta(seconds=0.4),
                             host_wait=timedelta(seconds=1))
    farm.route("/robots.txt", Reply(404))
    url = farm.route("/feed", Reply(body=FEED))
    async with Fetcher(settings) as fetcher:
        outcomes = await asyncio.gather(*(fetcher.fetch(url, respect_robots=False) for _ in range(4)))
    # Starts at 0, 0.4 and 0.8 s fit in a one-second wait; the fourth (1.2 s) does not.
    assert [o.ok for o in outcomes].count(True) == 3
    (busy,) = [o for o in outcomes if not o.ok]
    assert busy.host_busy and "0.4s between requests" in busy.error
    assert farm.hits["/feed"] == 3


def test_a_client_going_away_leaves_no_traceback_in_the_test_output(farm, capsys):
    """The farm treats a client going away as normal (tests provoke it all the time: timeouts,
    size limits, closed keep-alive connections); any other error still prints its traceback."""
    for gone in (ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "Broken pipe"), ValueError("bug")):
        try:
            raise gone
        except Exception:
            farm.server.handle_error(None, ("127.0.0.1", 50000))
    printed = capsys.readouterr().err
    assert "ValueError: bug" in printed and "Connection reset" not in printed and "Broken pipe" not in printed
