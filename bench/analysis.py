"""Analysis throughput: items scored per second on one core, and how matching scales with rules.

    .venv/bin/python bench/analysis.py --out bench/results/analysis.json

Items are 500-character news-like texts built from the demo's real headlines. Libraries of 100,
1,000 and 10,000 rules are generated (each rule: two alternatives AND a third term AND NOT a
fourth, over 3-6 character terms cut from the headlines, so many of them really occur). In the
same run, jieba.lcut over the same texts is the reference the issue names (segmentation alone);
our matching runs on characters with one automaton, so it does not pay for segmentation.

Passes, each over the same items: keyword matching only; sentiment only; the full score_item
(matching + tone of the sentences around hits + risk). Peak RSS is read after loading the library
and the default model, as the service holds them.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze.library import load_library  # noqa: E402
from monitor.analyze.score import score_item  # noqa: E402
from monitor.analyze.sentiment import load_model  # noqa: E402

HEADLINES = ROOT / "monitor" / "demo" / "data" / "headlines.tsv"


def make_items(count: int, rng: random.Random, titles: list[str]) -> list[tuple[str, str]]:
    items = []
    for _ in range(count):
        title = rng.choice(titles)
        body = ""
        while len(body) < 500:
            body += rng.choice(titles) + "。据了解，相关情况引起各方关注，有关部门表示将持续跟进。"
        items.append((title, body[:500]))
    return items


def make_library(folder: Path, rules: int, rng: random.Random, titles: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(titles)
    def term() -> str:
        # 3-6 characters, like the names, places and phrases of a real library (2-character
        # fragments such as 发布 would occur in most news text and measure nothing useful).
        n = rng.randint(3, 6)
        start = rng.randrange(len(text) - n)
        return text[start : start + n].replace("\"", "").replace("\\", "") or "新闻"
    per_file = 500
    for file_number in range((rules + per_file - 1) // per_file):
        lines = [f"name: 组{file_number}", "sensitivity: 0.5", "rules:"]
        for n in range(min(per_file, rules - file_number * per_file)):
            a, b, c, d = (json.dumps(term(), ensure_ascii=False) for _ in range(4))
            expr = f"({a} | {b}) & {c} & !{d}"
            lines.append(f"  - {{id: r{file_number}-{n}, expr: {json.dumps(expr, ensure_ascii=False)}}}")
        (folder / f"g{file_number}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def rate(label: str, items, function) -> dict:
    started = time.process_time()
    for title, body in items:
        function(title, body)
    seconds = time.process_time() - started
    result = {"pass": label, "items": len(items), "items_per_cpu_s": round(len(items) / seconds, 1)}
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(20261126)
    titles = [line.split("\t")[0] for line in HEADLINES.read_text("utf-8").splitlines()]
    items = make_items(args.items, rng, titles)
    results = []

    model = load_model()
    shipped = load_library(ROOT / "keywords")
    rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb_after_loading_library_and_model": round(rss_after_load, 1)}))

    import jieba

    jieba.initialize()
    results.append(rate("reference: jieba.lcut only", items, lambda t, b: jieba.lcut(t + b)))
    results.append(rate("sentiment only (fenghuo-general)", items, lambda t, b: model.negative_probability(t + "\n" + b)))
    results.append(rate("score_item, shipped library (7 rules)", items, lambda t, b: score_item(t, b, shipped, model)))

    with tempfile.TemporaryDirectory() as folder:
        for count in (100, 1000, 10000):
            path = Path(folder) / f"lib{count}"
            make_library(path, count, rng, titles)
            library = load_library(path)
            match = rate(f"matching only, {count} rules", items, library.match)
            match["rules"] = count
            match["hits_per_item"] = round(sum(len(library.match(t, b)) for t, b in items[:300]) / 300, 2)
            results.append(match)
            full = rate(f"score_item, {count} rules", items, lambda t, b, lib=library: score_item(t, b, lib, model))
            full["rules"] = count
            results.append(full)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"peak_rss_mb_after_loading_library_and_model": round(rss_after_load, 1),
               "peak_rss_mb_end": round(peak, 1), "results": results}
    if args.out:
        args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
