"""Which event does an item belong to? Near-duplicate detection with MinHash LSH.

Reprints (转载) and rewrites of one story share most of their character shingles even when outlets
edit the headline, cut paragraphs or add a byline; different stories on the same topic share far
fewer. An item's signature is a MinHash over character 4-shingles of the start of its normalised body
(or title and body, when the body is short); the LSH index answers "which recent items look like
this one" in time that does not grow with the number of events, and the estimated Jaccard
similarity decides. The index is numpy arrays rather than an object per item (Multimap, Rows): the
events stage keeps every item of the window in memory.

Only events still inside the clustering window are indexed: an item never joins a story whose last
item is older than the window (default 72 h).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from datasketch import LeanMinHash, MinHash

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
    # datasketch's affine32 scheme (MurmurHash3's finaliser, then the 64 affine permutations, the
    # minimum of each), done on the array of shingle hashes at once
    hashes = _fmix32(shingle_hashes(content))
    values = (hashes[:, None] * _PERMUTATIONS[0] + _PERMUTATIONS[1]).min(axis=0)
    # Lean: the hash values only, no permutation tables (a tenth of the memory in the index).
    return LeanMinHash(seed=_TEMPLATE.seed, hashvalues=values, scheme=_SCHEME)


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


_SHINGLE_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93], dtype=np.uint64)


def shingle_hashes(content: str) -> np.ndarray:
    """32-bit hashes of the distinct character 4-shingles, computed over the code points at once
    (hashing each shingle with SHA-1, datasketch's default, was half the cost of signing)."""
    points = np.frombuffer(content.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) < SHINGLE:  # a text shorter than a shingle is one shingle
        points = np.concatenate([points, np.zeros(SHINGLE - len(points), dtype=np.uint64)])
    count = len(points) - SHINGLE + 1
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE):
        mixed = (mixed ^ (points[offset : offset + count] * _SHINGLE_MIX[offset])) * _SHINGLE_MIX[(offset + 1) % SHINGLE]
    return np.unique(((mixed >> np.uint64(32)) ^ mixed).astype(np.uint32))


class Multimap:
    """Integer key -> rows (ints), compact: a sorted array of keys beside their rows, and a small
    dict of recent additions merged in when it grows. A dict of lists holds ~100 bytes per entry;
    this holds 12. Rows of one key come back oldest first."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)
        self._rows = np.empty(0, dtype=np.int32)
        self._recent: dict[int, list[int]] = {}
        self._pending = 0

    def add(self, keys, row: int) -> None:
        for key in keys:
            self._recent.setdefault(int(key), []).append(row)
        self._pending += len(keys)
        if self._pending > max(20_000, len(self._keys) // 8):
            self._merge()

    def _merge(self) -> None:
        keys = np.fromiter((k for k, rows in self._recent.items() for _ in rows), dtype=np.uint64, count=self._pending)
        rows = np.fromiter((r for rs in self._recent.values() for r in rs), dtype=np.int32, count=self._pending)
        keys, rows = np.concatenate([self._keys, keys]), np.concatenate([self._rows, rows])
        order = np.lexsort((rows, keys))  # by key, then row: a key's rows oldest first
        self._keys, self._rows = keys[order], rows[order]
        self._recent, self._pending = {}, 0

    def get(self, keys, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the keys (of each key the `last` most recent if given), and for each row
        the position of its key in `keys`: (rows, which)."""
        keys = np.asarray(keys, dtype=np.uint64)
        lo = np.searchsorted(self._keys, keys, side="left")
        hi = np.searchsorted(self._keys, keys, side="right")
        recent_rows, recent_which = [], []
        if self._recent:
            for position, key in enumerate(keys.tolist()):
                rows = self._recent.get(key)
                if rows:
                    rows = rows[-last:] if last is not None else rows
                    recent_rows.extend(rows)
                    recent_which.extend([position] * len(rows))
                    if last is not None:  # the older rows in the sorted part fill what is left
                        lo[position] = max(lo[position], hi[position] - (last - len(rows)))
        if last is not None:
            lo = np.maximum(lo, hi - last)
        lengths = hi - lo
        total = int(lengths.sum())
        if total:
            starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
            rows = self._rows[starts + np.arange(total)]
            which = np.repeat(np.arange(len(keys)), lengths)
        else:
            rows, which = np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64)
        if recent_rows:
            rows = np.concatenate([rows, np.asarray(recent_rows, dtype=np.int32)])
            which = np.concatenate([which, np.asarray(recent_which, dtype=np.int64)])
        return rows, which

    def keep(self, alive: np.ndarray, renumber: np.ndarray) -> None:
        """Drop rows not alive and renumber the rest (renumber[old row] = new row)."""
        self._merge()
        kept = alive[self._rows]
        self._keys, self._rows = self._keys[kept], renumber[self._rows[kept]].astype(np.int32)

    def rekey(self, remap) -> None:
        """Give every key a new one (`remap(keys array) -> keys array`), rows kept."""
        self._merge()
        keys = remap(self._keys).astype(np.uint64)
        order = np.lexsort((self._rows, keys))
        self._keys, self._rows = keys[order], self._rows[order]

    def nbytes(self) -> int:
        return self._keys.nbytes + self._rows.nbytes


class Rows:
    """Growable numpy columns, one row per indexed item: amortised appends without per-item objects.
    Each column is an attribute (rows.event, rows.at …)."""

    def __init__(self, **columns) -> None:
        self.n = 0
        self._names = tuple(columns)
        for name, (dtype, shape) in columns.items():
            setattr(self, name, np.zeros((1024, *shape), dtype=dtype))

    def append(self, **values) -> int:
        row = self.n
        if row == len(getattr(self, self._names[0])):
            for name in self._names:
                column = getattr(self, name)
                grown = np.zeros((2 * len(column), *column.shape[1:]), dtype=column.dtype)
                grown[:row] = column
                setattr(self, name, grown)
        for name, value in values.items():
            getattr(self, name)[row] = value
        self.n += 1
        return row

    def keep(self, alive: np.ndarray) -> np.ndarray:
        """Keep the rows alive (a mask over the first n); returns old row -> new row (-1 if gone)."""
        renumber = np.full(max(self.n, 1), -1, dtype=np.int64)
        renumber[: self.n][alive] = np.arange(int(alive.sum()))
        for name in self._names:
            column = getattr(self, name)
            setattr(self, name, np.concatenate([column[: self.n][alive], np.zeros((1024, *column.shape[1:]), dtype=column.dtype)]))
        self.n = int(alive.sum())
        return renumber

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in self._names)


def _seconds(at: datetime) -> float:
    return at.timestamp()


# LSH banding for candidates at Jaccard 0.3 with 64 values (datasketch's optimum for that
# threshold): 21 bands of 3; a pair of similarity s shares a band with probability 1-(1-s^3)^21.
BANDS, BAND_ROWS = 21, 3
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_BAND_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)


def band_keys(values: np.ndarray) -> np.ndarray:
    """One 64-bit key per band of a signature: equal bands give equal keys (a collision of unequal
    bands only adds a candidate, which the exact estimate then turns away)."""
    bands = values[: BANDS * BAND_ROWS].astype(np.uint64).reshape(BANDS, BAND_ROWS)
    return (bands * _MIX).sum(axis=1, dtype=np.uint64) ^ _BAND_SALT


@dataclass
class Clusterer:
    """In-memory index of recent items' signatures, keyed by item, mapped to their events.

    Compact: signatures in one numpy array (64 × 4 bytes an item), the LSH band tables in a
    Multimap (21 keys of 12 bytes), event and time in columns; about 0.5 KB an item where
    datasketch's MinHashLSH with a LeanMinHash per item held 3.3 KB."""

    threshold: float = 0.5  # estimated Jaccard needed to join an event (bands find pairs from 0.3)
    window: timedelta = timedelta(hours=72)

    def __post_init__(self) -> None:
        self._rows = Rows(sig=(np.uint32, (NUM_PERM,)), event=(np.int64, ()), at=(np.float64, ()), item=(np.int64, ()))
        self._bands = Multimap()
        self._row_of: dict[int, int] = {}  # item -> row
        self._dead = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def add(self, item_id: int, event_id: int, at: datetime, minhash: LeanMinHash) -> None:
        if item_id in self._row_of:
            return
        values = np.asarray(minhash.hashvalues, dtype=np.uint32)  # MinHash values are < 2**32
        row = self._rows.append(sig=values, event=event_id, at=_seconds(at), item=item_id)
        self._row_of[item_id] = row
        self._bands.add(band_keys(values), row)

    def best_event(self, minhash: LeanMinHash, at: datetime, floor: float | None = None) -> tuple[int | None, float]:
        """The event of the most similar indexed item within the window, and the similarity;
        `floor` (default: the threshold) lets a caller see near misses and decide itself."""
        event_id, similarity, _item = self.best(minhash, at, floor)
        return event_id, similarity

    def best(self, minhash: LeanMinHash, at: datetime, floor: float | None = None) -> tuple[int | None, float, int | None]:
        """(event, similarity, item): best_event with the indexed item it is most similar to."""
        floor = self.threshold if floor is None else floor
        values = np.asarray(minhash.hashvalues, dtype=np.uint32)
        rows = np.unique(self._bands.get(band_keys(values))[0])
        if not len(rows):
            return (None, 0.0, None)
        columns = self._rows
        rows = rows[(columns.item[rows] != GONE) & (_seconds(at) - columns.at[rows] <= self.window.total_seconds())]
        if not len(rows):
            return (None, 0.0, None)
        similarity = np.count_nonzero(columns.sig[rows] == values, axis=1) / NUM_PERM
        best = int(np.argmax(similarity))  # ties: the earliest indexed
        if similarity[best] < floor:
            return (None, 0.0, None)
        row = int(rows[best])
        return (int(columns.event[row]), float(similarity[best]), int(columns.item[row]))

    def relabel(self, events: dict[int, int]) -> None:
        """Re-point indexed items at other events (item → event): a merge or split by hand."""
        for item_id, event_id in events.items():
            row = self._row_of.get(item_id)
            if row is not None:
                self._rows.event[row] = event_id

    def forget_before(self, cutoff: datetime) -> int:
        """Drop items older than the window; returns how many were dropped. Their rows are marked
        gone at once and the arrays compacted when a quarter of them is gone."""
        columns, n = self._rows, self._rows.n
        old = np.flatnonzero((columns.at[:n] < _seconds(cutoff)) & (columns.item[:n] != GONE))
        for row in old.tolist():
            del self._row_of[int(columns.item[row])]
        columns.item[old] = GONE
        self._dead += len(old)
        if self._dead > n // 4:
            alive = columns.item[:n] != GONE
            renumber = columns.keep(alive)
            self._bands.keep(np.append(alive, False), np.append(renumber, -1))
            self._row_of = {int(item): row for row, item in enumerate(columns.item[: columns.n].tolist())}
            self._dead = 0
        return len(old)

    def nbytes(self) -> int:
        """Bytes held by the arrays and the item map (measured, for the benchmark)."""
        return self._rows.nbytes() + self._bands.nbytes() + sys.getsizeof(self._row_of) + 32 * len(self._row_of)


GONE = np.iinfo(np.int64).min  # the item column of a dropped row
