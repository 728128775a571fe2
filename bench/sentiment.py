"""Sentiment and tone models side by side, in one run: snownlp's default (the baseline), the shipped
posts/reviews model (fenghuo-general, the default) and the tone-toward-subject model (fenghuo-tone).

    .venv/bin/pip install -e '.[train,snownlp]'
    .venv/bin/python bench/sentiment.py --data ../shared/data/sentiment --out bench/results/sentiment.json

Data, all real:
- CFSC held-out: the 1,541 entity mentions in the 30% of CFSC-ABSA's financial-news sentences that
  scripts/train_tone.py holds out (never trained or tuned on). The label is the tone *toward the
  named entity*: negative against positive or neutral. Each model reads it three ways where it can:
  the whole sentence; the clause holding the name (split at , ; : 。 ! ?; for the tone model: read
  around the mention, the name masked, which is how the service uses it); the tone model also
  reads the whole sentence with no name given.
- news headlines: 300 THUCNews headlines we labelled (tests/fixtures/analysis/README.md), never
  trained on; the tone model reads the whole headline as the clause (no name).
- In-domain for the posts model: the 2,000 held-out Weibo posts of scripts/train_sentiment.py.
  Cross-domain: ChnSentiCorp's test split and 2,000 waimai reviews (held out from its training).
Each model at its own decision threshold (the tone model's is folded into its intercept: 0.5).
Speed: texts (or mentions) per second on the same data; then the analysis stage's worst case for
the tone model: score_item with 1,000 generated rules plus the shipped subject group, on items that
name the subject three times (CPU time, one process); and the peak memory of a fresh process that
loads the library and both shipped models, as the service does.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from monitor.analyze.sentiment import Evaluation, evaluate, load_model, read_labelled  # noqa: E402
from monitor.analyze.text import normalise  # noqa: E402
from monitor.analyze.tone import LabelledMention, Mention, evaluate_tone, load_tone_model  # noqa: E402
from train_sentiment import NEWS_CHECK, review_sets, weibo_split  # noqa: E402
from train_tone import cfsc_split, normalised_span, read_cfsc  # noqa: E402


def row(model: str, data: str, result: Evaluation, seconds: float, load_seconds: float) -> dict:
    out = {
        "model": model, "data": data, "n": result.total,
        "accuracy": round(result.accuracy, 4),
        "negative_precision": round(result.negative_precision, 4),
        "negative_recall": round(result.negative_recall, 4),
        "negative_f1": round(result.negative_f1, 4),
        "per_s": round(result.total / seconds, 1) if seconds else None,
        "load_seconds": round(load_seconds, 2),
    }
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def cfsc_mentions(data: Path) -> list[LabelledMention]:
    _train, held_out = cfsc_split(read_cfsc(data / "cfsc_absa_dev.json"))
    out = []
    for r in held_out:
        text, start, end = normalised_span(r)
        out.append(LabelledMention(text, start, end, r["polarity"] == "negative"))
    return out


def clause_of(mention: LabelledMention) -> str:
    cut = Mention.cut(mention.text, mention.start, mention.end)
    return cut.clause_left + mention.text[mention.start:mention.end] + cut.clause_right


def analysis_speed(items: int) -> list[dict]:
    """score_item on items naming the subject, with 1,000 generated rules and the shipped subject
    group (worst case for the tone model: every item is read around three mentions), and the tone
    model alone on the same mentions."""
    from analysis import HEADLINES, SUBJECT, make_library, naming_items

    from monitor.analyze.library import joined_text, load_library
    from monitor.analyze.score import score_item

    rng = random.Random(20261201)
    titles = [line.split("\t")[0] for line in HEADLINES.read_text("utf-8").splitlines()]
    naming = naming_items(items, rng, titles)
    model, tone = load_model(), load_tone_model()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lib"
        make_library(path, 1000, rng, titles)
        without_subject = load_library(path)  # the path of an item that names no subject
        shutil.copy(ROOT / "keywords" / "organisation.yaml", path / "organisation.yaml")
        library = load_library(path)
        reference = cpu_rate("reference: score_item, 1,000 rules, the same items, no subject group (no tone model)",
                             naming, lambda title, body: score_item(title, body, without_subject, model, tone))
        full = cpu_rate("score_item, 1,000 rules + the subject group, items naming the subject 3 times",
                        naming, lambda title, body: score_item(title, body, library, model, tone))
    places = []
    for title, body in naming:
        text = joined_text(title, body)[0]
        places.append((text, [(at, at + len(SUBJECT)) for at in _find_all(text, SUBJECT)][:3]))
    alone = cpu_rate("tone model only, the same 3 mentions per item", places,
                     lambda text, spans: [tone.mention_probability(text, a, b) for a, b in spans])
    return [reference, full, alone]


def cpu_rate(label: str, items, function) -> dict:
    started = time.process_time()
    for first, second in items:
        function(first, second)
    seconds = time.process_time() - started
    result = {"pass": label, "items": len(items), "items_per_cpu_s": round(len(items) / seconds, 1)}
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def memory_after_loading() -> float:
    """Peak RSS (MB) of a fresh process that loads the shipped library, the default model and the
    tone model, as the service holds them."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path;"
        "from monitor.analyze.library import load_library; from monitor.analyze.sentiment import load_model;"
        "from monitor.analyze.tone import load_tone_model;"
        "load_library(Path(sys.argv[1]) / 'keywords'); load_model(); load_tone_model();"
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)"
    )
    # VmHWM, not ru_maxrss: the latter survives exec, so the child would report this process's peak
    # (snownlp's 430 MB).
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 1)


def _find_all(text: str, word: str) -> list[int]:
    out, at = [], text.find(word)
    while at >= 0:
        out.append(at)
        at = text.find(word, at + 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--models", default="snownlp,fenghuo-general")
    parser.add_argument("--speed-items", type=int, default=2000)
    args = parser.parse_args()

    mentions = cfsc_mentions(args.data)
    sentences = [(0 if m.negative else 1, m.text) for m in mentions]
    clauses = [(0 if m.negative else 1, clause_of(m)) for m in mentions]
    _train, weibo_held_out = weibo_split(args.data)
    _reviews, review_held_out = review_sets(args.data)
    headlines = read_labelled(NEWS_CHECK)
    posts_and_reviews = {"weibo held-out (in-domain)": weibo_held_out, **review_held_out}
    results = []

    started = time.perf_counter()
    tone = load_tone_model()
    tone_load = time.perf_counter() - started
    for name in args.models.split(","):
        model, load_seconds = timed(load_model, name)
        for data, rows in (("CFSC held-out, whole sentence", sentences), ("CFSC held-out, clause holding the name", clauses),
                           ("news headlines (hand-labelled)", headlines), *posts_and_reviews.items()):
            result, seconds = timed(evaluate, model, rows)
            results.append(row(name, data, result, seconds, load_seconds))

    def whole(rows):  # no name: the whole (normalised) text is the clause
        return [LabelledMention(normalise(text), 0, 0, label == 0) for label, text in rows]

    for data, labelled in (
        ("CFSC held-out, toward the name (clause, name masked)", mentions),
        ("CFSC held-out, whole sentence", whole(sentences)),
        ("news headlines (hand-labelled)", whole(headlines)),
        *((data, whole(rows)) for data, rows in posts_and_reviews.items()),
    ):
        result, seconds = timed(evaluate_tone, tone.labelled_probability, labelled)
        results.append(row(tone.name, data, result, seconds, tone_load))

    speed = analysis_speed(args.speed_items) if args.speed_items else []
    summary = {"results": results, "analysis_speed": speed, "peak_rss_mb_library_and_both_models": memory_after_loading()}
    print(json.dumps({"peak_rss_mb_library_and_both_models": summary["peak_rss_mb_library_and_both_models"]}))
    if args.out:
        args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
