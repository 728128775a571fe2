"""Analysis throughput: items scored per second on one core, and how matching scales with rules.

    .venv/bin/python bench/analysis.py --out bench/results/analysis.json
    # the worst case alone (items naming the subject 3 times, 1,000 rules), against a baseline
    # checkout, alternating fresh processes; --profile prints cProfile's top functions
    git archive BASE_COMMIT | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    .venv/bin/python bench/analysis.py --worst-case --baseline /tmp/base --rounds 2

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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --code PATH: score with the monitor package of another checkout (the baseline of --baseline)
CODE = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

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


SUBJECT = "江城水务集团"  # the shipped library's subject (keywords/organisation.yaml)


def naming_items(count: int, rng: random.Random, titles: list[str]) -> list[tuple[str, str]]:
    """News-like items that name the subject three times (title, body, a closing sentence): the
    worst case for the tone model, which reads every place the subject is named."""
    items = []
    for title, body in make_items(count, rng, titles):
        at = rng.randrange(len(body) // 2)
        items.append((f"{SUBJECT}{title}", f"{body[:at]}{SUBJECT}{body[at:400]}。{SUBJECT}回应称正在核实。"))
    return items


def worst_case(count: int, profile: bool = False) -> dict:
    """score_item with 1,000 generated rules plus the shipped subject group, on items naming the
    subject three times (CPU time, this process); the code is CODE's."""
    from monitor.analyze.tone import load_tone_model

    rng = random.Random(20261201)
    titles = [line.split("\t")[0] for line in HEADLINES.read_text("utf-8").splitlines()]
    items = naming_items(count, rng, titles)
    model, tone = load_model(), load_tone_model()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lib"
        make_library(path, 1000, rng, titles)
        shutil.copy(ROOT / "keywords" / "organisation.yaml", path / "organisation.yaml")
        library = load_library(path)
        for title, body in items[:50]:  # warm: first-use caches
            score_item(title, body, library, model, tone)
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        result = rate(f"score_item, 1,000 rules + the subject group, items naming the subject 3 times ({CODE})",
                      items, lambda t, b: score_item(t, b, library, model, tone))
        if profile:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    return result


def compare(baseline: Path, count: int, rounds: int) -> list[dict]:
    """The worst case in fresh processes, baseline and this checkout alternating, so both see the
    same machine (it is shared: absolute numbers drift, the ratio within a round holds)."""
    results = []
    for round_number in range(rounds):
        pair = {}
        for name, code in (("baseline", baseline), ("this", ROOT)):
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worst-case", "--items", str(count), "--code", str(code)],
                capture_output=True, text=True, check=True,
            )
            pair[name] = json.loads(out.stdout.strip().splitlines()[-1])["items_per_cpu_s"]
        row = {"round": round_number + 1, "baseline_items_per_cpu_s": pair["baseline"],
               "this_items_per_cpu_s": pair["this"], "ratio": round(pair["this"] / pair["baseline"], 2)}
        print(json.dumps(row), flush=True)
        results.append(row)
    return results


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
    parser.add_argument("--worst-case", action="store_true", help="only the worst case (items naming the subject 3 times)")
    parser.add_argument("--baseline", type=Path, default=None, help="with --worst-case: a checkout to compare against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--code", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worst_case:
        count = args.items if args.items != 3000 else 2000
        if args.baseline:
            summary = {"worst_case_before_after": compare(args.baseline, count, args.rounds)}
            if args.out:
                args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        else:
            worst_case(count, args.profile)
        return
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
    results.append(worst_case(2000))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"peak_rss_mb_after_loading_library_and_model": round(rss_after_load, 1),
               "peak_rss_mb_end": round(peak, 1), "results": results}
    if args.out:
        args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
