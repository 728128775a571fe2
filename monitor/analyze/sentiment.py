"""Sentiment: the probability that a text is negative.

Models, chosen by name:
- ``fenghuo-general`` (default): three linear experts over character 1–3-grams — one trained on
  hand-labelled Weibo posts, one on reviews (complaints), one on both — mixed by a gate that sends
  social-media posts to the first, reviews to the second and news and anything else to the third.
  Each expert keeps its accuracy on its own kind of text, where one model trained on everything
  lost two points on Weibo posts. Trained by ``scripts/train_sentiment.py`` and shipped inside the
  package (``monitor/analyze/models/``). Inference here is plain Python and numpy over the
  exported weights — no scikit-learn at run time — and reproduces scikit-learn's probabilities
  (checked on load).
- ``snownlp``: snownlp's own review-trained Bayes model, the measured baseline. Imported only when
  selected (it costs about 2 s and 430 MiB).

Labels follow the data sets: 1 = positive, 0 = negative.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from monitor.analyze.text import normalise
from monitor.records import NEGATIVE_CALL, is_negative  # noqa: F401  (the analysis is where callers look for them)

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = "fenghuo-general"
_WHITESPACE = re.compile(r"\s\s+")


# -- one definition of "negative" -------------------------------------------------------------
#
# NEGATIVE_CALL and is_negative live in monitor/records.py (storage reads stored probabilities with
# them too); calibrated() below puts every model's probability on that one scale.

def calibrated(probability: float, threshold: float) -> float:
    """The probability shifted on the logit scale so that ``threshold`` lands on NEGATIVE_CALL."""
    if threshold == NEGATIVE_CALL:
        return probability
    p = min(max(probability, 1e-12), 1 - 1e-12)
    score = math.log(p / (1 - p)) - math.log(threshold / (1 - threshold))
    return 1.0 / (1.0 + math.exp(-score)) if score > -500 else 0.0


class SentimentModel(Protocol):
    name: str

    def negative_probability(self, text: str) -> float: ...


class ModelError(ValueError):
    pass


# -- the shipped model ------------------------------------------------------------------------


def _sigmoid(score: float) -> float:
    if score < -500:
        return 0.0
    return 1.0 / (1.0 + math.exp(-score))


@dataclass(frozen=True)
class MixtureParts:
    """What the mixture made of a text: each expert's negative probability and the share of the
    answer the gate gave it (shares sum to 1)."""

    negatives: dict[str, float]
    shares: dict[str, float]

    @property
    def negative(self) -> float:
        return sum(self.shares[name] * self.negatives[name] for name in self.negatives)


_CODED_MAX = 3  # 21 bits per character (code point + 1, at most 0x110000): three fit in 63


def _gram_code(gram: str) -> int:
    code = 0
    for char in gram:
        code = (code << 21) | (ord(char) + 1)
    return code


def _gram_codes(text: str, low: int, high: int) -> np.ndarray:
    """The distinct grams of ``text`` of ``low``–``high`` characters as _gram_code numbers, sorted.
    A gram of n characters lies in [2^(21(n-1)), 2^(21n)), so lengths never collide."""
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64) + 1
    found, gram = [], chars
    for n in range(1, high + 1):
        if n > 1:
            gram = (gram[:-1] << np.uint64(21)) | chars[n - 1:]
        if n >= low:
            found.append(gram)
    return np.unique(np.concatenate(found)) if found else chars[:0]


class MixtureCharModel:
    """Linear experts over the presence of character n-grams, mixed by a gate: a softmax with one
    score per expert that says whose answer to take for this kind of text. A text's features: each
    distinct n-gram of the normalised text that the model knows, all with the same value, the row
    at unit length.

    File: a JSON header (``experts``: names; ``intercepts``: ``experts`` and ``gate``, one number
    per expert each), then one line per gram: the gram, a weight per expert, a gate weight per
    expert."""

    def __init__(self, name: str, header: dict, features: Iterable[Sequence]) -> None:
        self.name = name
        self.ngram_min, self.ngram_max = header["ngram_range"]
        self.experts: list[str] = list(header.get("experts") or [])
        intercepts = header.get("intercepts") or {}
        count = len(self.experts)
        if count < 1 or len(intercepts.get("experts", [])) != count or len(intercepts.get("gate", [])) != count:
            raise ModelError(
                f"model {name}: the header needs experts and one expert and one gate intercept per expert"
            )
        self._expert_intercepts: list[float] = list(intercepts["experts"])
        self._gate_intercepts: list[float] = list(intercepts["gate"])
        # gram -> row of one (grams x 2·experts) float matrix, filled row by row into one flat
        # array and viewed by numpy without a copy: a text's sums are then one gather.
        # Grams of up to three characters are numbers (_gram_code): a text's grams are then found
        # by numpy (unique, searchsorted over the sorted codes) instead of as a Python set of
        # substrings looked up in a dict, which was half of scoring an item. Longer grams (a model
        # trained so) keep the dict.
        coded = self.ngram_max <= _CODED_MAX
        self._index: dict[str, int] = {}
        codes = array("Q")
        flat = array("d")
        for line in features:
            if len(line) != 1 + 2 * count:
                raise ModelError(f"model {name}: gram line {line[:1]} has {len(line) - 1} weights, expected {2 * count}")
            if coded:
                codes.append(_gram_code(line[0]))
            else:
                self._index[line[0]] = len(self._index)
            flat.extend(line[1:])
        self._weights = np.frombuffer(flat, dtype=np.float64).reshape(-1, 2 * count)
        self._codes: np.ndarray | None = None
        if coded:
            order = np.argsort(np.frombuffer(codes, dtype=np.uint64), kind="stable")
            self._codes, self._weights = np.frombuffer(codes, dtype=np.uint64)[order], self._weights[order]
        self.threshold: float = header.get("threshold", 0.5)
        self.card: dict = header.get("card", {})
        for text, expected in header.get("checks", []):
            got = self.negative_probability(text)
            if abs(got - expected) > 1e-6:
                raise ModelError(
                    f"model {name}: inference disagrees with training ({got} != {expected}); "
                    "was the text normalisation changed?"
                )

    @classmethod
    def load(cls, path: Path) -> MixtureCharModel:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            features = (json.loads(line) for line in handle)
            return cls(path.name.removesuffix(".jsonl.gz"), header, features)

    def grams(self, text: str) -> set[str]:
        # The same steps as scikit-learn's char analyzer with our normaliser as preprocessor.
        text = _WHITESPACE.sub(" ", normalise(text))
        return {
            text[i : i + n]
            for n in range(self.ngram_min, self.ngram_max + 1)
            for i in range(len(text) - n + 1)
        }

    def rows(self, text: str, normalised: bool = False):
        """Rows of the weight matrix of the distinct grams of ``text`` that the model knows;
        ``normalised``: the caller normalised it already (the analysis has, for matching)."""
        if self._codes is None:
            index = self._index
            return list(map(index.__getitem__, self.grams(text) & index.keys()))
        text = _WHITESPACE.sub(" ", text if normalised else normalise(text))
        codes = _gram_codes(text, self.ngram_min, self.ngram_max)
        if not len(codes) or not len(self._codes):
            return []
        at = np.searchsorted(self._codes, codes)
        at[at == len(self._codes)] = 0
        return at[self._codes[at] == codes]

    def parts(self, text: str, normalised: bool = False) -> MixtureParts:
        rows = self.rows(text, normalised)
        scale = 1.0 / math.sqrt(len(rows)) if len(rows) else 0.0
        sums = (self._weights[rows].sum(axis=0) * scale).tolist()
        count = len(self.experts)
        negatives = {
            name: 1.0 - _sigmoid(intercept + total)
            for name, intercept, total in zip(self.experts, self._expert_intercepts, sums[:count])
        }
        gate = [intercept + total for intercept, total in zip(self._gate_intercepts, sums[count:])]
        top = max(gate)
        weights = [math.exp(score - top) for score in gate]
        shares = {name: weight / sum(weights) for name, weight in zip(self.experts, weights)}
        return MixtureParts(negatives=negatives, shares=shares)

    def negative_probability(self, text: str) -> float:
        return self.parts(text).negative

    def is_negative(self, text: str) -> bool:
        return self.negative_probability(text) >= self.threshold


class SnowNLPModel:
    """snownlp's default sentiment model: the baseline. Loaded on first use only."""

    name = "snownlp"
    threshold = 0.5

    def __init__(self) -> None:
        try:
            from snownlp import SnowNLP
        except ImportError:
            raise ModelError(
                "the snownlp model needs the snownlp package: pip install 'fenghuo[snownlp]'"
            ) from None
        self._snownlp = SnowNLP

    def negative_probability(self, text: str) -> float:
        if not text.strip():
            return 0.5
        return 1.0 - float(self._snownlp(text).sentiments)

    def is_negative(self, text: str) -> bool:
        return self.negative_probability(text) >= self.threshold


_LOADED: dict[str, SentimentModel] = {}


def available_models() -> list[str]:
    return sorted(p.name.removesuffix(".jsonl.gz") for p in MODELS_DIR.glob("*.jsonl.gz")) + ["snownlp"]


def load_model(name: str = DEFAULT_MODEL) -> SentimentModel:
    if name not in _LOADED:
        if name == "snownlp":
            _LOADED[name] = SnowNLPModel()
        else:
            path = MODELS_DIR / f"{name}.jsonl.gz"
            if not path.exists():
                raise ModelError(f"no sentiment model {name!r}; available: {', '.join(available_models())}")
            _LOADED[name] = MixtureCharModel.load(path)
    return _LOADED[name]


# -- labelled data and evaluation ------------------------------------------------------------


def read_labelled(path: Path) -> list[tuple[int, str]]:
    """Rows (label, text) from any of the layouts of the shared sentiment data:
    ``mid,label,text`` (Weibo), ``label,review`` (waimai), ``cat,label,review`` (online shopping),
    ``label<TAB>text_a`` (ChnSentiCorp); a .zip holding one such file is read too."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise ModelError(f"{path}: expected one file in the archive, found {names}")
            text = archive.read(names[0]).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if "label" in header:
        label_at = header.index("label")
        text_at = next(
            (header.index(h) for h in ("text", "review", "text_a") if h in header), len(header) - 1
        )
        body = rows[1:]
    else:  # headerless Weibo file: mid,label,text (text may contain commas)
        label_at, text_at, body = 1, 2, rows
    out = []
    for number, row in enumerate(body, start=2 if body is not rows else 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            label = int(row[label_at])
        except (ValueError, IndexError):
            raise ModelError(f"{path}:{number}: label must be 0 or 1, found {row[:3]!r}") from None
        if label not in (0, 1):
            raise ModelError(f"{path}:{number}: label must be 0 or 1, found {label}")
        content = delimiter.join(row[text_at:]) if text_at == len(header) - 1 else row[text_at]
        out.append((label, content))
    return out


@dataclass(frozen=True)
class Evaluation:
    """Scores with the negative class as the one that matters (a missed negative story costs)."""

    total: int
    true_negative: int  # negative, called negative
    false_positive_alarm: int  # positive, called negative
    missed_negative: int  # negative, called positive
    true_positive: int  # positive, called positive

    @property
    def accuracy(self) -> float:
        return (self.true_negative + self.true_positive) / self.total if self.total else 0.0

    @property
    def negative_precision(self) -> float:
        called = self.true_negative + self.false_positive_alarm
        return self.true_negative / called if called else 0.0

    @property
    def negative_recall(self) -> float:
        actual = self.true_negative + self.missed_negative
        return self.true_negative / actual if actual else 0.0

    @property
    def negative_f1(self) -> float:
        p, r = self.negative_precision, self.negative_recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(model: SentimentModel, rows: list[tuple[int, str]], threshold: float | None = None) -> Evaluation:
    cut = threshold if threshold is not None else getattr(model, "threshold", 0.5)
    counts = Counter()
    for label, text in rows:
        negative = model.negative_probability(text) >= cut
        counts[(label, negative)] += 1
    return Evaluation(
        total=len(rows),
        true_negative=counts[(0, True)],
        false_positive_alarm=counts[(1, True)],
        missed_negative=counts[(0, False)],
        true_positive=counts[(1, False)],
    )
