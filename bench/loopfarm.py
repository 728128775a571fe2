"""A fast loopback farm for benchmarks: many 'hosts' (127.0.x.y) serving pre-built RSS feeds.

Separate process, raw asyncio protocol, keep-alive, pre-rendered responses: so that the crawler,
not the farm, is what a benchmark measures. Binds only loopback addresses.

    python bench/loopfarm.py --hosts 200 --feeds-per-host 5 --items 20 --port 18080
prints "ready" on stdout when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

HEADLINES = Path(__file__).resolve().parent.parent / "monitor" / "demo" / "data" / "headlines.tsv"


def host_address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def build_feed(host: int, feed: int, items: int, titles: list[str]) -> bytes:
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    entries = []
    for n in range(items):
        title = titles[(host * 131 + feed * 17 + n) % len(titles)]
        body = f"{title}。据了解，相关情况引起各方关注，有关部门表示将持续跟进并及时发布进展。" * 3
        link = f"http://{host_address(host)}/f{feed}/a/{n}.html"
        entries.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<description><![CDATA[<p>{body}</p>]]></description>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=7 * n))}</pubDate></item>"
        )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>bench {host}/{feed}</title><link>http://{host_address(host)}/</link>"
        + "".join(entries) + "</channel></rss>"
    )
    return xml.encode()


def response(status: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


class FarmProtocol(asyncio.Protocol):
    def __init__(self, responses: dict[tuple[str, str], tuple[bytes, bytes]]) -> None:
        self.responses = responses
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.host = transport.get_extra_info("sockname")[0]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            found = self.responses.get((self.host, path))
            if found is None:
                self.transport.write(response("404 Not Found", b""))
                continue
            full, not_modified = found
            etag = not_modified[1] if isinstance(not_modified, tuple) else None
            if headers.get("if-none-match") and headers["if-none-match"] == etag:
                self.transport.write(not_modified[0])
            else:
                self.transport.write(full)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--feeds-per-host", type=int, default=5)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    titles = [line.split("\t")[0] for line in HEADLINES.read_text("utf-8").splitlines()]
    responses = {}
    for host in range(args.hosts):
        address = host_address(host)
        responses[(address, "/robots.txt")] = (response("404 Not Found", b""), None)
        for feed in range(args.feeds_per_host):
            body = build_feed(host, feed, args.items, titles)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            full = response("200 OK", body, f"ETag: {etag}\r\n")
            responses[(address, f"/f{feed}/rss.xml")] = (full, (response("304 Not Modified", b"", f"ETag: {etag}\r\n"), etag))
    loop = asyncio.get_running_loop()
    addresses = [host_address(h) for h in range(args.hosts)]
    server = await loop.create_server(
        lambda: FarmProtocol(responses), host=addresses, port=args.port, backlog=1024
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
