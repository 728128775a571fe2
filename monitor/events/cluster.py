"""Which event does an item belong to? Near-duplicate detection with MinHash LSH.

Reprints (转载) and rewrites of one story share most of their character shingles even when outlets
edit the headline, cut paragraphs or add a byline; different stories on the same topic share far
fewer. An item's signature is a MinHash over character 4-shingles of the start of its normalised body
(or title and body, when the body is short); the LSH index answers "which recent items look like this one" in time that does
not grow with the number of events, and the estimated Jaccard similarity decides.

Only events still inside the clustering window are indexed: an item never joins a story whose last
item is older than the window (default 72 h).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor.analyze.text import normalise

NUM_PERM = 64
SHINGLE = 4
BODY_CHARS = 600  # the lead carries the story; long tails add noise and cost
MIN_BODY = 60
_PUNCTUATION = str.maketrans("", "", " \t\r\n，。！？、；：“”‘’（）《》【】,.!?;:'\"()[]<>-—…·")


# The permutations depend only on the seed: drawing them once saves doing it for every item.
_TEMPLATE = MinHash(num_perm=NUM_PERM)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme


def signature(title: str, text: str) -> LeanMinHash:
    # Outlets rewrite headlines far more than they rewrite the body of a reprint, so the body's
    # lead is the signature; a body too short to say much (a feed entry's teaser) takes the title.
    body = normalise(text[:BODY_CHARS]).translate(_PUNCTUATION)
    content = body if len(body) >= MIN_BODY else normalise(title).translate(_PUNCTUATION) + body
    shingles = {content[i : i + SHINGLE] for i in range(max(1, len(content) - SHINGLE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, permutations=_PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    # Lean: the hash values only, no permutation tables (a tenth of the memory in the index).
    return LeanMinHash(minhash)


@dataclass
class Clusterer:
    """In-memory index of recent items' signatures, keyed by item, mapped to their events."""

    threshold: float = 0.5  # estimated Jaccard needed to join an event
    window: timedelta = timedelta(hours=72)
    _lsh: MinHashLSH = field(init=False)
    _members: dict[int, tuple[int, datetime, LeanMinHash]] = field(default_factory=dict)  # item -> event, seen, sig

    def __post_init__(self) -> None:
        # LSH candidates at a lower band threshold than the decision, so true matches are not lost
        # to banding; the exact estimate below decides.
        self._lsh = MinHashLSH(threshold=max(0.1, self.threshold - 0.2), num_perm=NUM_PERM)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, item_id: int, event_id: int, at: datetime, minhash: LeanMinHash) -> None:
        if item_id in self._members:
            return
        self._members[item_id] = (event_id, at, minhash)
        self._lsh.insert(item_id, minhash)

    def best_event(self, minhash: LeanMinHash, at: datetime, floor: float | None = None) -> tuple[int | None, float]:
        """The event of the most similar indexed item within the window, and the similarity;
        `floor` (default: the threshold) lets a caller see near misses and decide itself."""
        event_id, similarity, _item = self.best(minhash, at, floor)
        return event_id, similarity

    def best(self, minhash: LeanMinHash, at: datetime, floor: float | None = None) -> tuple[int | None, float, int | None]:
        """(event, similarity, item): best_event with the indexed item it is most similar to."""
        floor = self.threshold if floor is None else floor
        best: tuple[int | None, float, int | None] = (None, 0.0, None)
        for candidate in self._lsh.query(minhash):
            event_id, seen, other = self._members[candidate]
            if at - seen > self.window:
                continue
            similarity = minhash.jaccard(other)
            if similarity >= floor and similarity > best[1]:
                best = (event_id, similarity, candidate)
        return best

    def relabel(self, events: dict[int, int]) -> None:
        """Re-point indexed items at other events (item → event): a merge or split by hand."""
        for item_id, event_id in events.items():
            member = self._members.get(item_id)
            if member is not None:
                self._members[item_id] = (event_id, *member[1:])

    def forget_before(self, cutoff: datetime) -> int:
        """Drop items older than the window; returns how many were dropped."""
        old = [item for item, (_e, seen, _m) in self._members.items() if seen < cutoff]
        for item in old:
            self._lsh.remove(item)
            del self._members[item]
        return len(old)
