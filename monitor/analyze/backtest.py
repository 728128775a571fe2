"""Try a changed keyword library on items already stored, before it goes live.

For every item, both libraries are matched; per group, the items each one matches, the items only
the candidate matches (gained) and the items only the current one matches (lost). Matching is
all it takes: no sentiment, no storage, so a week of items is a matter of seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.analyze.library import KeywordLibrary


@dataclass
class GroupChange:
    group: str
    current: int = 0
    candidate: int = 0
    gained: list[int] = field(default_factory=list)  # item ids matched only by the candidate
    lost: list[int] = field(default_factory=list)  # item ids matched only by the current library


@dataclass
class Backtest:
    items: int
    groups: dict[str, GroupChange]
    gained_rules: dict[int, list[str]]  # item id -> candidate rules that fire where no current rule of that group did
    lost_rules: dict[int, list[str]]

    @property
    def changed_items(self) -> set[int]:
        return set(self.gained_rules) | set(self.lost_rules)


def backtest(
    current: KeywordLibrary,
    candidate: KeywordLibrary,
    items: Iterable[tuple[int, str, str]],
) -> Backtest:
    groups: dict[str, GroupChange] = {}
    gained_rules: dict[int, list[str]] = {}
    lost_rules: dict[int, list[str]] = {}
    count = 0
    for item_id, title, text in items:
        count += 1
        now_hits = _by_group(current.match(title, text))
        new_hits = _by_group(candidate.match(title, text))
        for group in now_hits.keys() | new_hits.keys():
            change = groups.setdefault(group, GroupChange(group))
            in_now, in_new = group in now_hits, group in new_hits
            change.current += in_now
            change.candidate += in_new
            if in_new and not in_now:
                change.gained.append(item_id)
                gained_rules.setdefault(item_id, []).extend(new_hits[group])
            elif in_now and not in_new:
                change.lost.append(item_id)
                lost_rules.setdefault(item_id, []).extend(now_hits[group])
    return Backtest(count, dict(sorted(groups.items())), gained_rules, lost_rules)


def _by_group(hits) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for hit in hits:
        grouped.setdefault(hit.group, []).append(hit.rule)
    return grouped
