"""The analysis stage: score what the fetch stage stored, in batches, and store the scores.

It reads items that have no analysis (or, for a back-fill, a stale one), so it can run on its
own schedule, be re-run after a library change, and never needs the fetcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session, sessionmaker

from monitor.analyze.holder import LibraryHolder
from monitor.analyze.score import score_item
from monitor.analyze.sentiment import SentimentModel
from monitor.clock import Clock
from monitor.db import analyses as analysis_store
from monitor.db.drills import unmarked

log = structlog.get_logger("fenghuo.analyze")


@dataclass
class Analyser:
    sessions: sessionmaker[Session]
    library: LibraryHolder
    model: SentimentModel
    clock: Clock
    batch_size: int = 200

    def run_once(
        self,
        *,
        backfill: bool = False,
        on_progress: Callable[[int], None] | None = None,
        limit: int | None = None,
    ) -> int:
        """Score pending items until none is left (or `limit`); returns how many were scored."""
        library = self.library.library
        stale_for = (library.version, self.model.name) if backfill else None
        done, after_id = 0, 0
        # On PostgreSQL several workers score at once: each claims its batch (rows locked, skipped
        # by the others) and saves it in the same transaction. SQLite has one process, and a read
        # transaction held while scoring would block the fetcher's writes.
        shared = self.sessions.kw["bind"].dialect.name == "postgresql"
        while limit is None or done < limit:
            with self.sessions.begin() as session:
                batch = analysis_store.items_to_analyse(
                    session, limit=self.batch_size, stale_for=stale_for, after_id=after_id, claim=shared
                )
                if not batch:
                    break
                # a drill's label is not part of its story: scored without it, as the real story would be
                # (the library rightly ignores news *about* drills: "!演练")
                scores = [(item.id, score_item(unmarked(item.title), unmarked(item.text), library, self.model))
                          for item in batch]
                if shared:
                    analysis_store.save_scores(session, scores=scores, now=self.clock.now())
            if not shared:
                with self.sessions.begin() as session:
                    analysis_store.save_scores(session, scores=scores, now=self.clock.now())
            done += len(batch)
            after_id = batch[-1].id
            if on_progress is not None:
                on_progress(len(batch))
            risky = [(item_id, s.risk) for item_id, s in scores if s.risk >= 50]
            if risky:
                log.info("risky_items", count=len(risky), top=sorted(risky, key=lambda r: -r[1])[:5])
        if done:
            log.info("analysed", items=done, library_version=library.version, model=self.model.name)
        return done

    def count_pending(self, *, backfill: bool = False) -> int:
        library = self.library.library
        stale_for = (library.version, self.model.name) if backfill else None
        with self.sessions() as session:
            return analysis_store.count_to_analyse(session, stale_for=stale_for)
