"""The demo farm: six sample outlets on 127.0.0.1 that publish real headlines as time passes.

It lets a new user with no internet watch the whole pipeline work: feeds in UTF-8 and GBK, an
Atom feed, list pages with article pages (one in GBK, as government sites often are), ETag and
robots.txt, and one invented story spreading from a forum to central media.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

BEIJING = ZoneInfo("Asia/Shanghai")

# outlet key -> (headline classes it carries, path, format, encoding)
OUTLETS = {
    "central": (("politics", "finance"), "/central/rss.xml", "rss", "utf-8"),
    "local": (("society", "realty", "education"), "/local/rss.xml", "rss", "gbk"),
    "industry": (("science", "stocks"), "/industry/atom.xml", "atom", "utf-8"),
    "gov": (("politics", "society"), "/gov/list.html", "page", "gbk"),
    "forum": (("society", "entertainment"), "/forum/list.html", "page", "utf-8"),
    "selfmedia": (("sports", "game", "entertainment"), "/self/rss.xml", "rss", "utf-8"),
}

_BODY_TEMPLATES = (
    "{title}。据了解，相关情况引起各方关注，有关部门表示将持续跟进并及时发布进展。",
    "记者获悉，{title}。业内人士认为，这一变化值得关注，后续影响仍有待观察。",
    "{title}。多位受访者表示，希望相关方面进一步公开信息，回应社会关切。",
)


@dataclass(frozen=True)
class DemoItem:
    slug: str
    title: str
    body: str
    published_at: datetime


def _load_headlines() -> dict[str, list[str]]:
    data = resources.files("monitor.demo").joinpath("data/headlines.tsv").read_text("utf-8")
    by_class: dict[str, list[str]] = {}
    for line in data.splitlines():
        title, label = line.split("\t")
        by_class.setdefault(label, []).append(title)
    return by_class


def _load_story() -> list[dict]:
    return yaml.safe_load(resources.files("monitor.demo").joinpath("data/story.yaml").read_text("utf-8"))


def build_timelines(start: datetime, step: timedelta) -> dict[str, list[DemoItem]]:
    """Each outlet's items in publication order: headlines, with the story spliced in."""
    headlines = _load_headlines()
    cursor = {label: 0 for label in headlines}
    story = _load_story()
    timelines: dict[str, list[DemoItem]] = {}
    for key, (labels, *_rest) in OUTLETS.items():
        items: list[DemoItem] = []
        story_steps = {entry["step"]: entry for entry in story if entry["outlet"] == key}
        for n in range(60):
            published = start + step * (n - 10)  # ten items already out when the demo starts
            if n - 10 in story_steps:
                entry = story_steps[n - 10]
                items.append(DemoItem(f"s{entry['step']}", entry["title"], entry["body"], published))
                continue
            label = labels[n % len(labels)]
            title = headlines[label][cursor[label] % len(headlines[label])]
            cursor[label] += 1
            body = _BODY_TEMPLATES[n % len(_BODY_TEMPLATES)].format(title=title)
            slug = hashlib.sha1(f"{key}{n}{title}".encode()).hexdigest()[:10]
            items.append(DemoItem(slug, title, body, published))
        timelines[key] = items
    return timelines


class DemoFarm:
    """Serves the timelines; an item is visible once its publication time has passed."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        step: timedelta = timedelta(seconds=30),
        started: datetime | None = None,
    ):
        self.started = started or datetime.now(UTC)
        self.timelines = build_timelines(self.started, step)
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                status, content_type, body = farm.render(self.path.split("?")[0])
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if status == 200:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DemoFarm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def published(self, key: str) -> list[DemoItem]:
        now = datetime.now(UTC)
        return [item for item in self.timelines[key] if item.published_at <= now]

    def visible(self, key: str) -> list[DemoItem]:
        """What a list page or feed shows: the newest 20."""
        return self.published(key)[::-1][:20]

    # -- rendering ------------------------------------------------------------------------------

    def render(self, path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /admin/\n"
        for key, (_labels, outlet_path, fmt, encoding) in OUTLETS.items():
            if path == outlet_path:
                return self._render_outlet(key, fmt, encoding)
            prefix = outlet_path.rsplit("/", 1)[0] + "/a/"
            if path.startswith(prefix) and path.endswith(".html"):
                return self._render_article(key, path[len(prefix):-5], encoding)
        return 404, "text/plain", "没有这个页面".encode()

    def _link(self, key: str, item: DemoItem) -> str:
        return f"{self.base_url}{OUTLETS[key][1].rsplit('/', 1)[0]}/a/{item.slug}.html"

    def _render_outlet(self, key: str, fmt: str, encoding: str) -> tuple[int, str, bytes]:
        items = self.visible(key)
        if fmt == "rss":
            entries = "".join(
                f"<item><title>{escape(i.title)}</title><link>{self._link(key, i)}</link>"
                f"<guid>{i.slug}</guid><description>{escape(i.body)}</description>"
                f"<pubDate>{format_datetime(i.published_at.astimezone(BEIJING))}</pubDate></item>"
                for i in items
            )
            xml = (
                f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
                f"<title>演示：{key}</title><link>{self.base_url}/</link>{entries}</channel></rss>"
            )
            # The GBK feed names its charset only in the XML prolog, as many old CMSes do.
            return 200, "application/rss+xml", xml.encode(encoding)
        if fmt == "atom":
            entries = "".join(
                f'<entry><title>{escape(i.title)}</title><link href="{self._link(key, i)}"/>'
                f"<id>urn:demo:{i.slug}</id><updated>{i.published_at.isoformat()}</updated>"
                f'<content type="text">{escape(i.body)}</content></entry>'
                for i in items
            )
            xml = (
                '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>演示：{key}</title><id>urn:demo:{key}</id>"
                f"<updated>{datetime.now(UTC).isoformat()}</updated>{entries}</feed>"
            )
            return 200, "application/atom+xml; charset=utf-8", xml.encode()
        rows = "".join(
            f'<li><a href="a/{i.slug}.html">{escape(i.title)}</a>'
            f'<span class="date">{i.published_at.astimezone(BEIJING):%Y-%m-%d %H:%M}</span></li>'
            for i in items
        )
        html = (
            f'<html><head><meta charset="{encoding}"><title>演示：{key}</title></head>'
            f'<body><ul class="list">{rows}</ul></body></html>'
        )
        return 200, "text/html", html.encode(encoding)

    def _render_article(self, key: str, slug: str, encoding: str) -> tuple[int, str, bytes]:
        # An article stays online after it drops off the list page, as on a real site.
        for item in self.published(key):
            if item.slug == slug:
                when = item.published_at.astimezone(BEIJING)
                html = (
                    f'<html><head><meta charset="{encoding}"><title>{escape(item.title)} - 演示</title>'
                    f'<meta name="publishdate" content="{when:%Y-%m-%d %H:%M:%S}"></head><body>'
                    f"<h1>{escape(item.title)}</h1><div class=\"content\"><p>{escape(item.body)}</p>"
                    "<p>（演示数据）</p></div></body></html>"
                )
                return 200, f"text/html; charset={encoding}", html.encode(encoding)
        return 404, "text/plain", b"not yet published"


def demo_outlets_yaml(base_url: str) -> str:
    """The demo's outlets.yaml, pointing at a running farm."""
    text = resources.files("monitor.demo").joinpath("outlets.yaml").read_text("utf-8")
    return text.replace("http://127.0.0.1:8765", base_url)


def write_demo_outlets(base_url: str, path: Path) -> Path:
    path.write_text(demo_outlets_yaml(base_url), encoding="utf-8")
    return path

