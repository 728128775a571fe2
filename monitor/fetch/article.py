"""The generic article extractor: title, body, publish time, author and source of a news page.

One walk over the DOM measures every element: characters of text, characters inside links,
sentence punctuation outside links, and "noise" (short unpunctuated text such as "分享", "举报",
a user name or a count). The body is the element with the most punctuated non-link text once link
text and noise are charged against it: a sidebar, a "related news" list or a comment section
adds links and noise faster than sentences, so the container that holds the article and nothing
else wins over its ancestors. The body is then rendered block by block (`<br>`, `<p>` and `<div>`
paragraphs alike); link lists inside it, share bars, editor and copyright lines are dropped, the
source and editor lines kept as fields.

The title is the candidate (h1, og:title, <title> without the site name, the heading line above
the byline) that the others agree with; the publish time comes from the byline between the title
and the body before structured data, the URL and the text after the body, and never from
anywhere else on the page (sidebars and comment lists carry times too).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.fetch.times import find_time, find_time_of_day, parse_time

_SKIP = frozenset({
    "script", "style", "noscript", "iframe", "template", "svg", "select", "option", "button",
    "input", "textarea", "video", "audio", "canvas", "map", "object", "head", "title", "-comment",
})
_BLOCK = frozenset({
    "p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "tbody", "thead", "tr", "td", "th", "blockquote", "pre", "dl", "dt", "dd", "figure",
    "figcaption", "header", "footer", "nav", "aside", "main", "form", "center", "br", "hr",
    "body", "html",
})
_CANDIDATE = frozenset({"div", "article", "section", "td", "main", "body", "font", "span"})
_PUNCT = frozenset("。，！？；：、“”「」…,.!?;")
_PUNCT_RE = re.compile("[" + re.escape("".join(sorted(_PUNCT))) + "]")
_SENTENCE_END = frozenset("。！？…”」.!?)）")
_CLAUSE = frozenset("。，！？；")  # marks of a sentence (a colon or a dot also sits in bylines)
_CLAUSE_RE = re.compile("[。，！？；]")
# Text this short without a clause mark is furniture: "分享", "举报", a user name, a count, a time.
_NOISE_MAX = 12
_MAX_DEPTH = 250  # real pages nest 20-60 deep; broken ones (unclosed tags) thousands
# Class or id of a reader-comment section (163's 跟贴 is "gentie", many sites say "pinglun").
_COMMENTS = re.compile(
    r"comment|repl(?:y|ies)|pinglun|gentie|discuss|(?:^|[\s_-])(?:cmt|pl)(?:$|[\s_-])", re.I
)

# Lines of the rendered body that are furniture, not the article (only short lines): a label
# with its colon ("责任编辑：张三"), a bar of buttons ("分享到 微信 微博"), a notice. A sentence
# that merely starts with such a word ("返回舱已着陆。", "分享经济是…") is kept.
_FURNITURE = re.compile(
    r"^[\[【（(]?\s*(?:(?:责任编辑|责编|编辑|校对|审核|监制|本文来源|文章来源|信息来源|稿件来源|来源|稿源|"
    r"出处|作者|字号|关键词|标签)\s*(?:[:：]|$)|(?:分享到|分享至|扫一扫|用微信扫|关注我们|关闭窗口|"
    r"相关阅读|相关新闻|相关推荐|推荐阅读|延伸阅读|上一篇|下一篇|点击进入|免责声明|特别声明|版权声明|"
    r"Copyright|©|Notice:))",
    re.I,
)
# Whole lines that are one button or label of the page's furniture.
_FURNITURE_WORDS = frozenset({
    "分享", "打印", "收藏", "举报", "纠错", "【纠错】", "返回", "返回顶部", "关闭", "评论", "点赞", "在看",
    "阅读", "图集", "+1", "字号", "大", "中", "小", "[打印]", "[关闭]", "【打印】", "【关闭】",
})
_LONG_FURNITURE = re.compile(
    r"^(?:特别声明|免责声明|声明|Notice:|版权声明)|(?:未经授权不得转载|未经许可不得转载|版权所有|"
    r"All rights reserved|本平台仅提供信息存储服务)",
    re.I,
)
_SOURCE_LINE = re.compile(
    r"(?:(?:本文来源|文章来源|信息来源|稿件来源|来源|稿源|出处)\s*[:：]|来源于[:：]?|转载自[:：]?)\s*"
    r"(?P<v>[^\s:：|｜/,，。;；)）\]】]{2,30})"
)
# "来源：网络" names nobody: no source rather than a wrong one.
_NO_SOURCE = frozenset({"网络", "互联网", "未知", "佚名", "不详", "网友", "综合"})
_AUTHOR_LINE = re.compile(r"(?:作者|记者|文)\s*[:：/]\s*(?P<v>[^\s:：|｜,，。;；)）\]】]{2,20})")
_BYLINE_WORD = re.compile(r"发布时间|发布日期|发表于|时间[:：]|日期[:：]|来源|作者|编辑")
_BYLINE_LABEL = re.compile(r"(?:发布时间|发布日期|发表时间|发表于|时间|日期|来源|作者|编辑|记者)\s*[:：]")
_EDITOR_VALUE = re.compile(r"_[A-Z]+\d+$")  # 163's "杨倩_NF4425"
_TITLE_SEP = re.compile(r"\s*(?:_+|\||｜|--|——|\s[-–—]\s)\s*|(?<=\S)[-–—](?=\S)")
_SITE_WORDS = re.compile(
    r"网|报|新闻|频道|官网|官方|门户|在线|电视|广播|传媒|政府|中心|之家|时报|日报|晚报|"
    r"财经|科技|资讯|首页|\.com|\.cn|\.net|The Paper|EDN|CSDN",
    re.I,
)
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[-/_]?(0[1-9]|1[0-2])[-/_]?([0-3]\d)(?:[/_.-]|$)|/((?:19|20)\d{2})-(\d{2})/(\d{2})/"
)
# Publish times first; modified times only for pages that state nothing else.
_TIME_META = (
    "article:published_time", "og:article:published_time", "dcterms.created", "dc.date.created",
    "og:release_date", "publishdate", "pubdate", "publish_time", "publishtime", "publish-date", "datepublished", "dc.date.issued",
    "dc.date", "date", "article:published", "sailthru.date", "parsely-pub-date", "apub:time",
    "datecreated", "dateupdate", "og:updated_time", "article:modified_time", "datemodified",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "byl")
_SOURCE_META = ("source", "article:source", "og:article:source", "mediaid")


@dataclass
class Article:
    title: str
    text: str
    published_at: datetime | None
    author: str | None
    source: str | None = None  # the outlet the story credits (来源：新华社): where a reprint chain starts


@dataclass
class _Stats:
    text: int = 0
    links: int = 0
    punct: int = 0
    noise: int = 0
    noise_chars: int = 0
    first: int = 0  # index of its first text run in the page's stream of text runs
    last: int = 0


class _Walk:
    """One pass over the DOM: the stream of text runs and the scored body candidates."""

    def __init__(self) -> None:
        self.runs: list[str] = []  # text runs in document order (one per text node)
        self.candidates: list[tuple[float, LexborNode, _Stats]] = []

    def visit(self, node: LexborNode, in_link: bool, depth: int = 0) -> tuple[int, int, int, int, int]:
        """Characters, characters in links, punctuation outside links, noise runs and their
        characters, of the subtree."""
        first = len(self.runs)
        runs = self.runs
        text_total = links = punct = noise = noise_chars = 0
        tag = node.tag
        link = in_link or tag == "a"
        if depth > _MAX_DEPTH:
            # Thousands of unclosed <font>s nest that deep; below this the subtree is one run
            # (recursing on would exhaust Python's stack).
            run = " ".join(node.text(deep=True).split())
            if run:
                runs.append(run)
                size = len(run) - run.count(" ")
                marks = len(_PUNCT_RE.findall(run))
                return size, size if link else 0, 0 if link else marks, 0, 0
            return 0, 0, 0, 0, 0
        child = node.child
        while child is not None:
            child_tag = child.tag
            if child_tag == "-text":
                raw = child.text_content
                if raw and not raw.isspace():
                    words = raw.split()
                    run = " ".join(words)
                    runs.append(run)
                    size = len(run) - len(words) + 1
                    text_total += size
                    if link:
                        links += size
                    else:
                        marks = len(_PUNCT_RE.findall(run))
                        punct += marks
                        if size <= _NOISE_MAX and not _CLAUSE_RE.search(run):
                            noise += 1
                            noise_chars += size
            elif child_tag not in _SKIP:
                inner = self.visit(child, link, depth + 1)
                text_total += inner[0]
                links += inner[1]
                punct += inner[2]
                noise += inner[3]
                noise_chars += inner[4]
            child = child.next
        if punct >= 2 and tag in _CANDIDATE:
            stats = _Stats(text_total, links, punct, noise, noise_chars, first, len(runs))
            score = _score(stats)
            if score > 0:
                self.candidates.append((score, node, stats))
        return text_total, links, punct, noise, noise_chars


def _score(stats: _Stats) -> float:
    """Punctuated prose, charged for the links and furniture that come with it."""
    prose = _prose_chars(stats)
    return prose * min(1.0, stats.punct / max(prose, 1) * 25) - 1.5 * stats.links - 8 * stats.noise


def extract(html: str, *, url: str = "", zone: tzinfo, now: datetime | None = None) -> Article:
    tree = LexborHTMLParser(html)
    metas = _metas(tree)
    walk = _Walk()
    root = tree.body or tree.root
    if root is not None:
        walk.visit(root, False)

    # A first guess at the body tells where the headline should be; the headline's place then
    # rules out bodies above it (a footer's legal notice can outscore a two-line news flash).
    guess_node, guess_stats = _body_node(tree, walk, None)
    guess_first = guess_stats.first if guess_stats else len(walk.runs)
    guess_prose = _prose_start(walk.runs, guess_first, guess_stats.last if guess_stats else guess_first)
    title, title_run = _title(tree, metas, walk, guess_prose)
    if title_run is not None and guess_stats is not None and title_run != guess_first:
        body_node, body_stats = _body_node(tree, walk, title_run)
    else:
        body_node, body_stats = guess_node, guess_stats

    lines, dropped = _render(body_node, title) if body_node is not None else ([], [])
    text = "\n\n".join(lines)
    if len(text) < 20:
        text = metas.get("description") or metas.get("og:description") or text

    end = body_stats.last if body_stats else len(walk.runs)
    first = body_stats.first if body_stats else len(walk.runs)
    if title_run is not None and first <= title_run < end:
        first = title_run + 1  # the body element holds the headline too: start below it
    prose = _prose_start(walk.runs, first, end)
    byline = _byline(walk.runs, title_run, prose)
    published = _published(tree, metas, byline, walk.runs[max(first, end - 3) : end + 40], url, zone, now)
    above = " ".join(walk.runs[max(0, title_run - 8) : title_run]) if title_run else ""
    source = _source(metas, [byline, *dropped, above])
    author = _author(metas, byline, source, _site_name(tree, metas, title))
    return Article(title=title, text=text, published_at=published, author=author, source=source)


# -- body -------------------------------------------------------------------------------------


def _body_node(
    tree: LexborHTMLParser, walk: _Walk, title_run: int | None
) -> tuple[LexborNode | None, _Stats | None]:
    wechat = tree.css_first("#js_content")  # WeChat articles: the body is marked
    if wechat is not None and len(wechat.text(strip=True)) > 50:
        for score, node, stats in walk.candidates:
            if node.mem_id == wechat.mem_id:
                return node, stats
        return wechat, None
    candidates = walk.candidates
    if title_run is not None:
        # The body starts below the headline: nothing that ends above it, and less for what
        # starts far below it (a footer, a comment list).
        near = []
        for score, node, stats in candidates:
            if stats.last <= title_run:
                continue
            gap = stats.first - title_run
            if gap > 40:
                score *= 0.5
            near.append((score, node, stats))
        candidates = near or candidates
    # Reader comments can outweigh a short story; their section says what it is in its class.
    candidates = [item for item in candidates if not _in_comments(item[1])] or candidates
    if not candidates:
        return None, None
    score, node, stats = max(candidates, key=lambda item: item[0])
    # An article element often wraps headline, byline and body: an inner element with nearly
    # the same score is the body alone.
    inner = [
        (other, other_node, other_stats)
        for other, other_node, other_stats in candidates
        if other >= 0.95 * score and stats.first <= other_stats.first and other_stats.last <= stats.last
    ]
    score, node, stats = min(inner, key=lambda item: item[2].last - item[2].first)
    # A short article split into paragraph <div>s with a link list beside them: one paragraph
    # can outscore the whole (the list is charged to it). Climb while the enclosing element adds
    # at least a third more prose and no more links or furniture than prose.
    while True:
        enclosing = [
            item for item in candidates
            if item[2].first <= stats.first and stats.last <= item[2].last
            and (item[2].last - item[2].first) > (stats.last - stats.first)
        ]
        if not enclosing:
            break
        parent = min(enclosing, key=lambda item: item[2].last - item[2].first)[2]
        added_prose = _prose_chars(parent) - _prose_chars(stats)
        added_links = parent.links - stats.links
        added_noise = parent.noise - stats.noise
        if added_prose < 0.3 * _prose_chars(stats) or added_links > added_prose or added_noise * 20 > added_prose:
            break
        node = next(item[1] for item in enclosing if item[2] is parent)
        stats = parent
    return node, stats


def _comment_box(node: LexborNode) -> bool:
    attributes = node.attributes
    return bool(_COMMENTS.search(f"{attributes.get('class') or ''} {attributes.get('id') or ''}"))


def _in_comments(node: LexborNode) -> bool:
    for _ in range(8):
        if node is None or node.tag in ("body", "html"):
            return False
        if _comment_box(node):
            return True
        node = node.parent
    return False


def _prose_chars(stats: _Stats) -> int:
    return stats.text - stats.links - stats.noise_chars


def _prose_start(runs: list[str], first: int, last: int) -> int:
    """Index of the body's first sentence: the byline lies between the headline and it."""
    for index in range(first, last):
        run = runs[index]
        # Not a headline (often 20-30 characters with a "，" or a "！" in it): a long clause, or
        # a sentence that ends like one.
        if (len(run) >= 30 and _CLAUSE_RE.search(run)) or (len(run) >= 12 and run[-1] == "。"):
            return index
    return first


def _render(container: LexborNode, title: str = "") -> tuple[list[str], list[str]]:
    """The container's text as paragraphs, without link lists and furniture lines (returned apart).

    Leading lines before the first sentence (headline, breadcrumbs, byline) go, and the body ends
    at the first line that ends articles on Chinese sites (责任编辑, 相关阅读, 上一篇…)."""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            line = " ".join("".join(current).split())
            if line:
                lines.append(line)
            current.clear()

    def walk(node: LexborNode, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            current.append(node.text(deep=True))
            return
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                current.append(child.text_content or "")
            elif tag in ("br", "hr"):
                flush()
            elif tag not in _SKIP:
                if tag in _BLOCK:
                    flush()
                    if not _link_list(child) and not _caption(child) and not _comment_box(child):
                        walk(child, depth + 1)
                    flush()
                else:
                    walk(child, depth + 1)
            child = child.next

    walk(container)
    flush()
    flat_title = _norm(title)
    while lines and _lead_furniture(lines[0], flat_title) and any(_prose(line) for line in lines[1:]):
        lines.pop(0)
    for index, line in enumerate(lines):
        if index and _STOP.match(line) and any(_prose(before) for before in lines[:index]):
            lines, tail = lines[:index], lines[index:]
            # the editor and source lines themselves carry fields; keep them for those
            dropped_tail = [line for line in tail[:3] if _SOURCE_LINE.search(line) or "编辑" in line]
            break
    else:
        dropped_tail = []
    kept, dropped = [], list(dropped_tail)
    for line in lines:
        if _furniture(line):
            dropped.append(line)
        else:
            kept.append(line)
    # Trailing lines without a sentence in them ("逆水寒专区", tags, a lone name) end many bodies.
    while kept and len(kept[-1]) <= 12 and not any(char in _PUNCT for char in kept[-1]):
        dropped.append(kept.pop())
    return kept, dropped


def _link_list(node: LexborNode) -> bool:
    """A block that is mostly links: related news, a tag cloud, a share bar."""
    anchors = node.css("a")
    if len(anchors) < 2:
        return False
    total = len("".join(node.text(deep=True).split()))
    if total == 0:
        return True
    linked = sum(len("".join(anchor.text(deep=True).split())) for anchor in anchors)
    return linked / total > 0.6


_STOP = re.compile(
    r"^[\[【（(]?\s*(?:责任编辑|责编|编辑\s*[:：]|相关阅读|相关新闻|相关推荐|相关文章|相关资讯|推荐阅读|"
    r"热门推荐|为您推荐|为你推荐|猜你喜欢|延伸阅读|热点推荐|精彩推荐|大家都在看|热帖|网友评论|"
    r"最新评论|热门评论|热门跟贴|更多精彩|推荐文章|上一篇|下一篇|扫一扫在手机|返回.{0,6}首页|"
    r"分享到|分享至|我要反馈|我要纠错|【纠错】|(?:文章)?关键[词字]\s*[:：]|标签\s*[:：]|作者最新文章|点击排行|"
    r"阅读全文|Powered by|Copyright|版权所有)",
    re.I,
)
_BREADCRUMB = re.compile(r"您的位置|您所在的位置|当前位置|现在的位置|首页\s*[>›»/]|>\s*正文")


def _prose(line: str) -> bool:
    return len(line) >= 15 and sum(1 for char in line if char in _PUNCT) >= 1


def _lead_furniture(line: str, flat_title: str) -> bool:
    """Headline, breadcrumbs, byline and bare labels above the body's first sentence."""
    flat = _norm(line)
    if flat_title and (flat == flat_title or (len(flat) < 2 * len(flat_title) and flat_title in flat)):
        return True
    if _BREADCRUMB.search(line):
        return True
    if len(flat) < 15:  # a label or a name, unless it is a short sentence ("“妈妈，为什么？”")
        return not (flat[-1] in _SENTENCE_END and any(char in _CLAUSE for char in flat))
    if len(line) <= 80:
        # "2019-09-26 12:11 来源：证券时报网 作者：李在山"; a sentence that merely mentions a
        # source ("据消息来源称，…") is not a byline.
        dated = find_time(line, UTC) is not None
        labelled = bool(_BYLINE_LABEL.search(line))
        return ((dated or labelled) and not _prose(line)) or (dated and labelled)
    return False


def _caption(node: LexborNode) -> bool:
    """Image captions repeat the article in a line of their own; they are not the story."""
    return node.tag == "figcaption" or "caption" in (node.attributes.get("class") or "")


def _furniture(line: str) -> bool:
    if line in _FURNITURE_WORDS or (len(line) <= 60 and _FURNITURE.match(line)):
        return True
    return len(line) <= 200 and bool(_LONG_FURNITURE.search(line))


# -- title ------------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    return "".join((text or "").split())


def _title(
    tree: LexborHTMLParser, metas: dict[str, str], walk: _Walk, body_start: int
) -> tuple[str, int | None]:
    """The headline and the index of its run in the text stream (where the byline search starts)."""
    page_title_node = tree.css_first("title")
    page_title = " ".join(page_title_node.text().split()) if page_title_node else ""
    flat_page_title = _norm(page_title)

    headings = []
    for node in tree.css("h1, h2"):
        text = " ".join(node.text().split())
        if 4 <= len(text) <= 120:
            headings.append((node.tag, text))
    og = metas.get("og:title") or metas.get("twitter:title") or metas.get("headline") or ""

    def on_page(text: str) -> tuple[int | None, bool]:
        """Where the text is shown above the body: (run index, shown exactly or only its start)."""
        flat = _norm(text)
        prefix = None
        # The headline is shown just above the body (and may be repeated inside it): the first
        # occurrence in the stretch above the body, not one in a menu further up.
        stop = min(body_start + 3, len(walk.runs))
        for start in (max(0, body_start - 60), 0):
            for index in range(start, stop):
                run = walk.runs[index].replace(" ", "")
                if run == flat:
                    return index, True
                if prefix is None and len(flat) > 10 and flat.startswith(run) and len(run) > len(flat) // 2:
                    prefix = index
            stop = max(0, body_start - 60)
        return prefix, False

    def shown_bonus(text: str) -> float:
        index, exact = on_page(text)
        return 0.0 if index is None else (1.5 if exact else 0.8)

    candidates: list[tuple[float, str]] = []
    og_flat = _norm(og)
    for tag, text in headings:
        flat = _norm(text)
        score = 1.0 if tag == "h1" else 0.3
        if flat and flat in flat_page_title:
            score += 2
        if og_flat and flat.startswith(og_flat):
            score += 1
        if flat == og_flat:
            score += 1
        candidates.append((score, text))
    stripped = _strip_site(page_title)
    if og:
        score = 1.5 if og_flat in flat_page_title else 0.5
        # 163 cuts og:title at an unescaped quote: a heading that extends it is the real one.
        if any(_norm(text).startswith(og_flat) and len(_norm(text)) > len(og_flat) for _, text in headings):
            score -= 1
        candidates.append((score + shown_bonus(og), og))
    stripped_shown = on_page(stripped)[0] is not None if stripped else False
    if stripped:
        candidates.append((1.0 + shown_bonus(stripped), stripped))
        index, exact = on_page(stripped)
        if index is not None and not exact:
            # The page shows only the start of <title> ("标题 湖南省某医院"): the rest is the site.
            candidates.append((2.6, walk.runs[index]))
    if stripped and not stripped_shown:
        # Some <title>s put the section first ("明日股市预测--标题"): the part shown on the page.
        for part in _TITLE_SEP.split(stripped):
            part = part.strip()
            if len(part) >= 8 and part != stripped and on_page(part)[1]:
                candidates.append((2.6, part))
    heading_line = _heading_above_byline(walk.runs, body_start)
    if heading_line:
        score = 0.8
        if stripped and not stripped_shown and not any(_norm(heading_line) == _norm(text) for _, text in candidates):
            # A <title> naming only the section ("新闻动态--学会官网") loses to the line heading
            # the article.
            if len(_norm(stripped)) < len(_norm(heading_line)):
                score = 2.6
        candidates.append((score, heading_line))
    if not candidates:
        return "", None
    best = max(candidates, key=lambda item: (item[0], len(item[1])))[1].strip()
    return best, on_page(best)[0]


def _strip_site(page_title: str) -> str:
    """"标题_频道_网站" → "标题", keeping hyphens that belong to the title ("1-10月…")."""
    title = page_title.strip()
    for _ in range(4):
        parts = list(_TITLE_SEP.finditer(title))
        if not parts:
            break
        last = parts[-1]
        head, tail = title[: last.start()].strip(), title[last.end() :].strip()
        bare_hyphen = last.group().strip() in ("-", "–", "—") and " " not in last.group()
        if not head or not tail:
            break
        keywords = tail.count(",") + tail.count("，") >= 2  # "-中国,嫦娥五号,月球": a keyword list
        site_like = bool(_SITE_WORDS.search(tail)) or len(tail) <= 6 or keywords
        if len(tail) > 24 or len(tail) >= len(head):
            break
        if bare_hyphen and not (_SITE_WORDS.search(tail) or keywords or len(tail) <= 4):
            break  # "1-10月…": a hyphen inside the headline
        if not site_like and not tail.isascii():
            # "标题 | 公园" where the tail is a keyword list: sina's "|公园_新浪新闻"; drop it too
            site_like = last.group().strip() in ("|", "｜")
        if not site_like:
            break
        title = head
    return title


def _heading_above_byline(runs: list[str], body_start: int) -> str | None:
    """The text run just above the first byline-looking run before the body."""
    for index in range(min(body_start, len(runs)) - 1, max(body_start - 30, 0), -1):
        run = runs[index]
        if _BYLINE_WORD.search(run) or find_time(run, UTC) is not None:
            for above in range(index - 1, max(index - 6, -1), -1):
                candidate = runs[above]
                if 8 <= len(candidate) <= 80 and not _BYLINE_WORD.search(candidate):
                    if find_time(candidate, UTC) is None:
                        return candidate
            return None
    return None


# -- byline, time, author, source --------------------------------------------------------------


def _byline(runs: list[str], title_run: int | None, body_start: int) -> str:
    """Text between the headline and the body; some sites put the byline above the headline."""
    if title_run is not None and title_run < body_start:
        below = runs[title_run + 1 : min(body_start, title_run + 40)]
        if len(below) >= 2:
            return " ".join(below)
        return " ".join(runs[max(0, title_run - 8) : title_run] + below)
    return " ".join(runs[max(0, body_start - 25) : body_start])


def _published(
    tree: LexborHTMLParser, metas: dict[str, str], byline: str, after_body: list[str],
    url: str, zone: tzinfo, now: datetime | None,
) -> datetime | None:
    now = now or datetime.now(UTC)
    url_day = _url_date(url)

    def sane(moment: datetime | None) -> datetime | None:
        if moment is None or moment > now + timedelta(hours=1) or moment.year < 1995:
            return None
        if url_day is not None and abs((moment.astimezone(zone).date() - url_day).days) > 2:
            return None  # the page's own URL says another day: this is someone else's time
        return moment

    structured = None
    for key in _TIME_META:
        if key in metas:
            structured = sane(parse_time(metas[key], zone))
            break
    structured = structured or sane(_json_ld_time(tree, zone))
    for node in tree.css("time[datetime]"):
        structured = structured or sane(parse_time(node.attributes.get("datetime"), zone))
        break

    shown, precise = _byline_time(byline, zone)
    shown = sane(shown)
    if shown is not None:
        # A byline giving only the day, or only the last update ("更新时间", BBC), yields to the
        # page's own structured time of that day or earlier.
        if structured is not None and not precise and timedelta(0) <= shown - structured <= timedelta(days=1):
            return structured
        if structured is not None and not precise and structured.astimezone(zone).date() == shown.astimezone(zone).date():
            return structured
        return shown
    if structured is not None:
        return structured
    for moment in (
        sane(_labelled_time(" ".join(after_body), zone)),
        # Picture pages (toutiao galleries) print the time right under the caption.
        sane(find_time(" ".join(after_body[:6]), zone)),
    ):
        if moment is not None:
            return moment
    if url_day is not None:
        return datetime(url_day.year, url_day.month, url_day.day, tzinfo=zone).astimezone(UTC)
    return None


_LABELLED_TIME = re.compile(r"(?:发布时间|发布日期|发表时间|发表于|时间|日期|发布于)\s*[:：]?\s*")
_UPDATED = re.compile(r"(?:更新时间|最后更新|更新于|修改时间)\s*[:：]?\s*$")


def _byline_time(text: str, zone: tzinfo) -> tuple[datetime | None, bool]:
    """The byline's time, and whether it is exact: a time of day that is not an update time."""
    for match in _LABELLED_TIME.finditer(text):
        if _UPDATED.search(text[max(0, match.start() - 2) : match.end()]):
            continue
        moment, clock = find_time_of_day(text[match.end() : match.end() + 40], zone)
        if moment is not None:
            return moment, clock
    moment, clock = find_time_of_day(text, zone)
    if moment is None:
        return None, False
    found = _DATE_START.search(text)
    updated = bool(found and _UPDATED.search(text[max(0, found.start() - 12) : found.start()]))
    return moment, clock and not updated


_DATE_START = re.compile(r"(?:19|20)\d{2}\s*[-/.年]")


def _labelled_time(text: str, zone: tzinfo) -> datetime | None:
    for match in _LABELLED_TIME.finditer(text):
        moment = find_time(text[match.end() : match.end() + 30], zone)
        if moment is not None:
            return moment
    return None


def _json_ld_time(tree: LexborHTMLParser, zone: tzinfo) -> datetime | None:
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text() or "")
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                for key in ("datePublished", "dateCreated", "pubDate"):
                    moment = parse_time(str(item.get(key) or ""), zone)
                    if moment is not None:
                        return moment
    return None


def _url_date(url: str):
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    groups = [g for g in match.groups() if g]
    try:
        return datetime(int(groups[0]), int(groups[1]), int(groups[2])).date()
    except ValueError:
        return None


def _author(metas: dict[str, str], byline: str, source: str | None, site: str) -> str | None:
    match = _AUTHOR_LINE.search(byline)
    if match:
        return match.group("v")
    for key in _AUTHOR_META:
        value = metas.get(key)
        if value and _plausible_author(value, source, site):
            return value
    return None


def _plausible_author(value: str, source: str | None, site: str) -> bool:
    """Author meta tags often hold the site's name, the source, an id or a template's example."""
    if len(value) > 40 or value.startswith("http") or "@" in value or value.isdigit():
        return False
    if value == source or (site and value in site):
        return False
    return not value.lower().startswith(("name", "author", "admin"))


def _source(metas: dict[str, str], texts: list[str]) -> str | None:
    for text in texts:
        for match in _SOURCE_LINE.finditer(text):
            value = match.group("v")
            if value in _NO_SOURCE:
                return None
            if find_time(value, UTC) is None and not _EDITOR_VALUE.search(value):
                return value
    for key in _SOURCE_META:
        if metas.get(key) and len(metas[key]) <= 30:
            return metas[key]
    return None


def _site_name(tree: LexborHTMLParser, metas: dict[str, str], title: str) -> str:
    """The site's own name: og:site_name and what <title> adds to the headline ("_网易财经")."""
    node = tree.css_first("title")
    page_title = " ".join(node.text().split()) if node else ""
    rest = page_title.replace(title, " ") if title else ""
    return f"{metas.get('og:site_name', '')} {rest}"


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        name = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        value = " ".join((attrs.get("content") or "").split())
        if name and value and name not in found:
            found[name] = value
    return found
