"""Article extraction on real Chinese news pages: ours against GeneralNewsExtractor (GNE).

    PYTHONPATH=. .venv/bin/python bench/extraction.py [--pages DIR] [--out bench/results/extraction.json]

The pages are GNE's own test pages (67 pages, 30 sites, GPL-3.0), read from
../shared/data/pages/gne/ and never copied into this repository. GNE (`pip install gne`) is a
benchmark-only dependency: the bench skips the baseline with a note when it is not installed.

Both extractors get the same decoded text (monitor.fetch.encoding.decode_body) in the same
process. Measured:
  - title exact: against our hand labels (bench/data/extraction_labels.json), whitespace ignored;
    also against GNE's own published output (result.txt) for the 20 pages it covers.
  - body F1: character F1 over CJK characters (bag of characters), the reference being the page's
    visible text from the labelled first sentence to the labelled last sentence.
  - junk bodies: bodies under 100 characters, over all pages.
  - time found (all pages) and time right (labelled pages that show a time: the same minute in
    Asia/Shanghai, or the same day when the page shows only a date; a second time the page itself
    states, e.g. sina's meta time next to its byline, also counts).
  - source right: the outlet the page credits (来源：…), on the labelled pages that name one.
  - ms per page: each extractor over all pages, best of several passes, on one core.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from monitor.fetch.encoding import decode_body  # noqa: E402
from monitor.fetch.pages import parse_article  # noqa: E402
from monitor.fetch.times import parse_time  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
# ../shared beside the checkout (/work/main) or beside the worktrees' folder (/work/wt/NAME).
DEFAULT_PAGES = next(
    (path for path in (ROOT.parent / "shared" / "data" / "pages" / "gne",
                       ROOT.parent.parent / "shared" / "data" / "pages" / "gne") if path.exists()),
    ROOT.parent / "shared" / "data" / "pages" / "gne",
)
LABELS = ROOT / "bench" / "data" / "extraction_labels.json"
# Four Apache/MIT pages in tests/fixtures/pages the extractor was not tuned on (the held-out check).
HELD_OUT = ROOT / "tests" / "fixtures" / "pages"
HELD_OUT_LABELS = ROOT / "bench" / "data" / "extraction_labels_heldout.json"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SPACE = re.compile(r"\s+")
JUNK_BELOW = 100


def visible_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    body = tree.body or tree.root
    return SPACE.sub("", body.text(separator="\n")) if body else ""


def reference_body(html: str, first: str, last: str) -> str:
    """The page's visible text from the labelled first sentence through the labelled last one."""
    text = visible_text(html)
    first, last = SPACE.sub("", first), SPACE.sub("", last)
    start = text.find(first)
    if start < 0:
        raise ValueError(f"label's first sentence not on the page: {first!r}")
    end = text.find(last, start)
    if end < 0:
        raise ValueError(f"label's last sentence not on the page after the first: {last!r}")
    return text[start : end + len(last)]


def char_f1(got: str, want: str) -> float:
    got_chars, want_chars = Counter(CJK.findall(got)), Counter(CJK.findall(want))
    if not got_chars or not want_chars:
        return 0.0
    common = sum((got_chars & want_chars).values())
    if common == 0:
        return 0.0
    precision = common / sum(got_chars.values())
    recall = common / sum(want_chars.values())
    return 2 * precision * recall / (precision + recall)


def same_title(got: str | None, want: str) -> bool:
    return SPACE.sub("", got or "") == SPACE.sub("", want)


def time_right(got: datetime | None, label: dict) -> bool:
    if got is None:
        return False
    local = got.astimezone(SHANGHAI)
    for wanted in (label.get("published"), label.get("published_also")):
        if not wanted:
            continue
        if len(wanted) == 10:  # the page shows a date only
            if local.strftime("%Y-%m-%d") == wanted:
                return True
        elif local.strftime("%Y-%m-%d %H:%M") == wanted:
            return True
    return False


def gne_results(pages: Path) -> dict[str, dict]:
    """GNE's own published answers (result.txt) keyed by page path."""
    path = pages / "result.txt"
    if not path.exists():
        return {}
    found = {}
    for block in re.split(r">{10,}(?=tests/|visiable_test/)", path.read_text("utf-8")):
        name, _, rest = block.partition(">>>>>>>>>>>>>")
        if not rest:
            continue
        body = rest.split("<<<<<<<<<<")[0]
        try:
            found[name.strip()] = json.loads(body)
        except ValueError:
            continue
    return found


class Ours:
    name = "fenghuo"

    def extract(self, text: str, name: str) -> dict:
        article = parse_article(text, url=f"http://page.invalid/{name}", zone=SHANGHAI)
        return {
            "title": article.title, "body": article.text, "published": article.published_at,
            "author": article.author, "source": getattr(article, "source", None),
        }


class Gne:
    name = "gne"

    def __init__(self) -> None:
        from gne import GeneralNewsExtractor

        self.extractor = GeneralNewsExtractor()

    def extract(self, text: str, name: str) -> dict:
        try:
            out = self.extractor.extract(text)
        except Exception as error:  # GNE raises on some pages; a crash is an empty answer
            return {"title": "", "body": "", "published": None, "error": repr(error)}
        return {
            "title": out.get("title") or "", "body": out.get("content") or "",
            "published": parse_time(out.get("publish_time"), SHANGHAI),
            "author": out.get("author"), "source": None,
        }


def evaluate(extractor, pages: dict[str, str], labels: dict, published: dict, passes: int) -> dict:
    answers = {name: extractor.extract(text, name) for name, text in pages.items()}
    timings = []
    for _ in range(passes):
        started = time.process_time()
        for name, text in pages.items():
            extractor.extract(text, name)
        timings.append((time.process_time() - started) / len(pages))
    per_page = min(timings)

    titled = [name for name in labels if name in pages]
    title_hits = [name for name in titled if same_title(answers[name]["title"], labels[name]["title"])]
    vs_published = [name for name in published if name in pages] or []
    vs_published_hits = [
        name for name in vs_published if same_title(answers[name]["title"], published[name]["title"])
    ]
    f1s = {}
    for name in titled:
        label = labels[name]
        if not label.get("body_first"):
            continue
        reference = reference_body(pages[name], label["body_first"], label["body_last"])
        f1s[name] = round(char_f1(answers[name]["body"], reference), 4)
    junk = [name for name in pages if len((answers[name]["body"] or "").strip()) < JUNK_BELOW]
    found = [name for name in pages if answers[name]["published"] is not None]
    shows_time = [name for name in titled if labels[name].get("published")]
    right = [name for name in shows_time if time_right(answers[name]["published"], labels[name])]
    wrong_time = [
        name for name in shows_time if answers[name]["published"] is not None and name not in right
    ]
    sourced = [name for name in titled if labels[name].get("source")]
    source_hits = [name for name in sourced if answers[name].get("source") == labels[name]["source"]]
    return {
        "pages": len(pages),
        "source_right": f"{len(source_hits)}/{len(sourced)}" if extractor.name != "gne" else "no such field",
        "title_exact": f"{len(title_hits)}/{len(titled)}",
        "title_exact_rate": round(len(title_hits) / len(titled), 4),
        "title_misses": {
            name: [answers[name]["title"], labels[name]["title"]]
            for name in titled if name not in title_hits
        },
        "title_vs_gne_published": f"{len(vs_published_hits)}/{len(vs_published)}" if vs_published else "-",
        "body_f1_median": round(statistics.median(f1s.values()), 4),
        "body_f1_mean": round(statistics.fmean(f1s.values()), 4),
        "body_f1_pages": len(f1s),
        "body_f1_below_0_9": {name: f1 for name, f1 in sorted(f1s.items()) if f1 < 0.9},
        "junk_bodies": f"{len(junk)}/{len(pages)}",
        "junk_rate": round(len(junk) / len(pages), 4),
        "junk_pages": junk,
        "time_found": f"{len(found)}/{len(pages)}",
        "time_right": f"{len(right)}/{len(shows_time)}",
        "time_right_rate": round(len(right) / len(shows_time), 4),
        "time_wrong": {
            name: [answers[name]["published"].astimezone(SHANGHAI).isoformat(), labels[name]["published"]]
            for name in wrong_time
        },
        "time_missing": [name for name in shows_time if answers[name]["published"] is None],
        "ms_per_page": round(per_page * 1000, 2),
        "pages_per_second": round(1 / per_page, 1) if per_page else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    parser.add_argument("--passes", type=int, default=5, help="timed passes for our extractor")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "extraction.json")
    args = parser.parse_args()

    files = sorted(args.pages.glob("tests/*/*.html")) + sorted(args.pages.glob("visiable_test/*/*.html"))
    if not files:
        sys.exit(f"no pages under {args.pages} (see ../shared/data/pages/gne/README.md)")
    pages = {
        str(path.relative_to(args.pages)): decode_body(path.read_bytes(), "text/html").text for path in files
    }
    labels = json.loads(LABELS.read_text("utf-8"))
    published = gne_results(args.pages)

    results = {"data": f"{len(pages)} real pages from {args.pages}", "labels": len(labels)}
    results["fenghuo"] = evaluate(Ours(), pages, labels, published, args.passes)
    try:
        baseline = Gne()
    except ImportError:
        results["gne"] = "not installed (pip install gne): baseline skipped"
    else:
        results["gne"] = evaluate(baseline, pages, labels, published, passes=1)
        results["speed_ratio"] = round(results["gne"]["ms_per_page"] / results["fenghuo"]["ms_per_page"], 1)

    held_labels = json.loads(HELD_OUT_LABELS.read_text("utf-8"))
    held_pages = {
        name: decode_body((HELD_OUT / name).read_bytes(), label["content_type"]).text
        for name, label in held_labels.items()
    }
    results["held_out"] = {"fenghuo": evaluate(Ours(), held_pages, held_labels, {}, args.passes)}
    if isinstance(results["gne"], dict):
        results["held_out"]["gne"] = evaluate(baseline, held_pages, held_labels, {}, passes=1)

    keys = (
        "title_exact", "title_vs_gne_published", "body_f1_median", "body_f1_mean", "junk_bodies",
        "time_found", "time_right", "source_right", "ms_per_page", "pages_per_second",
    )
    print(f"{'':24}" + "".join(f"{name:>14}" for name in ("fenghuo", "gne")))
    for key in keys:
        row = [results["fenghuo"][key]]
        row.append(results["gne"][key] if isinstance(results["gne"], dict) else "-")
        print(f"{key:24}" + "".join(f"{str(value):>14}" for value in row))
    held = results["held_out"]
    print(f"held out ({len(held_pages)} pages in tests/fixtures/pages, not tuned on):")
    for key in ("title_exact", "body_f1_median", "body_f1_mean", "time_right", "source_right"):
        gne_value = held["gne"][key] if "gne" in held else "-"
        print(f"  {key:22}" + "".join(f"{str(value):>14}" for value in (held["fenghuo"][key], gne_value)))
    if "speed_ratio" in results:
        print(f"speed ratio (gne ms / ours ms): {results['speed_ratio']}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8")
    print(f"details: {args.out}")


if __name__ == "__main__":
    main()
