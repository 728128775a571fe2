"""Exclusion words for a rule that raised false alarms: words frequent in the items marked as
noise and rare in the rule's other items (document frequencies, jieba words).

The monitoring team reads the suggestions and decides; nothing is added to the library by itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from monitor.analyze.segment import Segmenter


@dataclass(frozen=True)
class Suggestion:
    word: str
    in_noise: float  # share of noise items containing it
    in_others: float  # share of the rule's other items containing it


def suggest_exclusions(
    noise_texts: list[str],
    other_texts: list[str],
    segmenter: Segmenter,
    *,
    known_terms: set[str],
    top: int = 10,
    min_noise_share: float = 0.3,
) -> list[Suggestion]:
    if not noise_texts:
        return []

    def document_frequency(texts: list[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update({w for w in segmenter.cut(text) if len(w) >= 2 and not w.isdigit()})
        return counts

    noise, others = document_frequency(noise_texts), document_frequency(other_texts)
    scored = []
    for word, count in noise.items():
        if word in known_terms:  # the rule's own terms are why it matched; excluding them is no fix
            continue
        in_noise = count / len(noise_texts)
        in_others = others[word] / len(other_texts) if other_texts else 0.0
        if in_noise >= min_noise_share and in_noise > 2 * in_others:
            scored.append(Suggestion(word, round(in_noise, 3), round(in_others, 3)))
    scored.sort(key=lambda s: (s.in_others - s.in_noise, -len(s.word), s.word))
    return scored[:top]
