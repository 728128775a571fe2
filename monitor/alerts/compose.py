"""What a push says: composed from whole parts, rendered per vendor with web text kept as data.

Titles, outlet names and links come from the web; an officer's name and a resolution note come
from the API. None of it may become markup: a title carrying a newline and
`[查看并确认](http://evil…)` must not add a second acknowledge link, `<at id=all></at>` must not
call everyone in Feishu, `<!channel>` must not ping a Slack channel. So a message is first composed
as a `Draft` — lines made of text spans and `Link`s — and only a vendor's renderer turns it into
that vendor's syntax, escaping every span for it:

- every span is put on one line (line breaks, control and bidi characters become spaces or go);
- WeCom and DingTalk Markdown, Feishu `lark_md`: the characters that start markup (`[ ] < > * ~ #
  & | \\` and the backtick) become their full-width forms, which read the same to a person and
  mean nothing to a parser (none of the three documents a backslash escape);
- Slack mrkdwn: `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's own rule), and `* ~ [ ]` and
  the backtick their full-width forms so a title cannot open or close bold;
- `_` is left alone: inside a word (`local_media`) it is not markup, and at worst it italicises;
- `http://` in text gets a full-width colon, so the client does not link it by itself;
- a link is kept only if it is http or https, with a host and no user part; it is rebuilt with
  every character a link syntax could end on (`( ) [ ] < > |`, spaces, quotes) percent-encoded.
  Anything else is shown as text, without a link.

Long messages are fitted (`fit`) by dropping whole list entries from the end ("另有 M 条未列出"),
then shortening plain text; a link or a mention is never cut, and the action link (acknowledge,
view all, the report) stays at any length.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

LEVEL_EMOJI = {"blue": "🔵", "yellow": "🟡", "orange": "🟠", "red": "🔴"}
MORE = re.compile(r"^(?:·\s*)?另有\s*(\d+)\s*条未列出")


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None  # None: the address was not a safe http(s) link; the text is shown alone


Span = str | Link


@dataclass(frozen=True)
class Line:
    spans: tuple[Span, ...]
    # heading: the message's heading line; lead: a follow-up's one-line statement; title: the
    # story's title (bold); field: a fact (quoted); section: a bold label; note: closing remark
    style: str = "field"
    droppable: bool = False  # an entry of a list: dropped whole, from the end, when too long


@dataclass(frozen=True)
class Draft:
    preview: str  # what a chat list shows before the message is opened
    level: str | None
    lines: tuple[Line, ...]
    action: Link | None = None  # kept at any length
    colour: str = "blue"  # Feishu header template


# -- making web text safe ----------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_BIDI = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def one_line(text: object, strip: bool = True) -> str:
    """Text on one line: breaks (including U+2028/2029/0085) become spaces; control and bidi
    characters, which could reorder what a reader sees around a link, are dropped."""
    text = _SPACES.sub(" ", str(text if text is not None else "")).translate(_BIDI)
    text = "".join(c for c in text if unicodedata.category(c) != "Cc")
    return text.strip() if strip else text


_MARKDOWN = str.maketrans({
    "[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "~": "～", "`": "｀",
    "#": "＃", "&": "＆", "|": "｜", "\\": "＼",
})
_SLACK_FORMAT = str.maketrans({"*": "＊", "~": "～", "`": "｀", "[": "［", "]": "］"})
_SCHEME = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*):(?=//)")


def _defang(text: str) -> str:
    """`http://…` in web text would be made a link by the chat client itself: a full-width colon
    keeps it readable and unclickable, so the only links in a push are the ones we made."""
    return _SCHEME.sub(r"\1：", text)


def plain(text: object) -> str:
    """Web text for a vendor's plain-text field (Feishu header and note, DingTalk's title): escaped
    as for Markdown too, so that no payload carries web text that any parser could read as markup."""
    return escape_markdown(text).strip()


def escape_markdown(text: object) -> str:
    """Web text for WeCom/DingTalk Markdown and Feishu lark_md: no character can start markup."""
    return _defang(one_line(text, strip=False)).translate(_MARKDOWN)


def escape_slack(text: object) -> str:
    """Web text for Slack mrkdwn: Slack's three control characters, and no bold/italic markers."""
    text = _defang(one_line(text, strip=False)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_SLACK_FORMAT)


# RFC 3986 characters that no chat link syntax ends on; everything else is percent-encoded.
_URL_SAFE = "/:@!$&'*+,;=%?#~-._"
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")


def safe_url(url: str | None) -> str | None:
    """The link as it may go into any vendor's markup, or None when it must not be a link:
    only http and https, with a host, without a user part (`https://查看并确认@evil…`)."""
    if not url:
        return None
    url = one_line(url)
    if len(url) > 4096:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError:
        return None
    if ":" in host:
        host = f"[{host}]"
    if not _HOST.fullmatch(host):
        return None
    netloc = host + (f":{port}" if port is not None else "")
    quote = lambda part: urllib.parse.quote(part, safe=_URL_SAFE)  # noqa: E731
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, quote(parts.path) or "/",
                                    quote(parts.query), quote(parts.fragment)))


_IDENT = re.compile(r"[A-Za-z0-9_.@+\-]{1,64}")


def ident(value: str | None) -> str | None:
    """A roster id as it may go into a mention tag (`<@…>`, `<at id=…>`), or None."""
    return value if value and _IDENT.fullmatch(value) else None


# -- fitting -----------------------------------------------------------------------------------

T = TypeVar("T")
TRUNCATED = "…（内容过长，已截断）"
MIN_SPAN = 12  # characters a shortened text keeps at least
SPAN_CAP = 200  # characters of one text shown when a message is too long, before entries are dropped


def fit(draft: Draft, render: Callable[[Draft], T], size: Callable[[T], int], limit: int) -> T:
    """The draft rendered within `limit` (as `size` counts), cut only between whole parts."""
    out = render(draft)
    if size(out) <= limit:
        return out
    lines = list(draft.lines)
    # 0. Overlong text first (a reason of thousands of characters), so the reports stay listed.
    if any(len(_text(span)) > SPAN_CAP for line in lines for span in line.spans):
        lines = [replace(line, spans=tuple(_shorten(span, SPAN_CAP) for span in line.spans)) for line in lines]
        lines.append(Line((TRUNCATED,), "note"))
        out = render(replace(draft, lines=tuple(lines)))
    dropped = 0
    # 1. Whole list entries, from the end; an existing "另有 N 条未列出" line is counted in.
    while size(out) > limit and any(line.droppable for line in lines):
        index = max(i for i, line in enumerate(lines) if line.droppable)
        removed = lines.pop(index)
        counted = MORE.match(removed.spans[0]) if removed.spans and isinstance(removed.spans[0], str) else None
        dropped += int(counted.group(1)) if counted else 1
        lines = [line for line in lines if line.style != "more"]
        lines.insert(index, Line((f"…另有 {dropped} 条未列出",), "more"))
        out = render(replace(draft, lines=tuple(lines)))
    # 2. Plain text, longest first, cut to the length that fits (never a link's address or a
    #    mention: only what a span shows).
    if size(out) > limit and Line((TRUNCATED,), "note") not in lines:
        lines.append(Line((TRUNCATED,), "note"))
        out = render(replace(draft, lines=tuple(lines)))
    for _ in range(16):
        if size(out) <= limit:
            break
        longest = max(((i, j, _text(span)) for i, line in enumerate(lines) for j, span in enumerate(line.spans)),
                      key=lambda t: len(t[2]), default=None)
        if longest is None or len(longest[2]) <= MIN_SPAN:
            break
        i, j, text = longest

        def with_length(n: int) -> list[Line]:
            new_span = _shorten(lines[i].spans[j], n)
            return [*lines[:i], replace(lines[i], spans=lines[i].spans[:j] + (new_span,) + lines[i].spans[j + 1:]),
                    *lines[i + 1:]]

        low, high = MIN_SPAN, len(text) - 1  # the longest length that fits, or MIN_SPAN
        while low < high:
            middle = (low + high + 1) // 2
            if size(render(replace(draft, lines=tuple(with_length(middle))))) <= limit:
                low = middle
            else:
                high = middle - 1
        lines = with_length(low)
        out = render(replace(draft, lines=tuple(lines)))
    # 3. A limit too small for the facts: keep the heading and the title, drop the rest.
    while size(out) > limit and len(lines) > 2:
        lines.pop(-1 if lines[-1].spans != (TRUNCATED,) else -2)
        out = render(replace(draft, lines=tuple(lines)))
    return out


def _shorten(span: Span, length: int) -> Span:
    if len(_text(span)) <= length:
        return span
    short = _text(span)[:length].rstrip() + "…"
    return Link(short, span.url) if isinstance(span, Link) else short


def draft_links(draft: Draft) -> list[str]:
    """Every address the draft links to (for checks: a rendering may show only these)."""
    spans = [span for line in draft.lines for span in line.spans] + [draft.action]
    return [span.url for span in spans if isinstance(span, Link) and span.url]


def _text(span: Span) -> str:
    return span.text if isinstance(span, Link) else span


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))
