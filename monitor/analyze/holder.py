"""The live keyword library: reload on change, and never replace a good library with a broken one.

A rejected change must not be silent either: until the files on disk load again, `problems` lists
what is wrong and `rejected_at` says since when, and /readyz, /api/v1/keywords and the console show
them (the log says it once, when the change is rejected). Scoring goes on with the last good library.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from monitor.analyze.library import KeywordLibrary, LibraryError, load_library

log = structlog.get_logger("fenghuo.analyze")


@dataclass(frozen=True)
class ReloadResult:
    changed: bool
    version: str
    problems: list[str]


class LibraryHolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp = self._fingerprint()
        # A broken, missing or empty library at start-up: refuse to start (LibraryError).
        self.library: KeywordLibrary = load_library(folder)
        self.loaded_at: datetime | None = datetime.now(UTC)
        self.last_problems: list[str] = []
        self.rejected_at: datetime | None = None  # when the files on disk first failed to load

    def _fingerprint(self) -> tuple:
        found = []
        try:
            paths = list(self.folder.glob("*.yaml")) + list(self.folder.glob("*.yml"))
        except OSError:
            paths = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:  # removed between the listing and the stat: it changed all the same
                continue
            found.append((path.name, stat.st_mtime_ns, stat.st_size))
        return (self.folder.is_dir(), tuple(sorted(found)))

    def reload_if_changed(self) -> ReloadResult | None:
        """Cheap enough for every scheduler sweep: stats the files, loads only if they changed."""
        if self._fingerprint() == self._stamp:
            return None
        return self.reload()

    def reload(self) -> ReloadResult:
        with self._lock:
            stamp = self._fingerprint()
            try:
                fresh = load_library(self.folder)
            except LibraryError as error:
                return self._reject(stamp, error.problems)
            except Exception as error:  # a bug must not stop scoring either: keep the good library
                log.exception("keyword_library_reload_crashed")
                return self._reject(stamp, [f"{self.folder}: loading failed: {type(error).__name__}: {error}"])
            self._stamp = stamp
            if self.last_problems:
                log.info("keyword_library_problems_cleared", version=fresh.version)
            self.last_problems = []
            self.rejected_at = None
            changed = fresh.version != self.library.version
            if changed:
                log.info(
                    "keyword_library_loaded", version=fresh.version, previous=self.library.version,
                    rules=len(fresh.rules), groups=len(fresh.groups),
                )
                self.loaded_at = datetime.now(UTC)
            self.library = fresh
            return ReloadResult(changed, fresh.version, [])

    def problems_without_paths(self) -> list[str]:
        """last_problems naming files by name only, for those who may not learn the server's
        paths (viewers; /readyz, which monitors read without a role)."""
        folder = str(self.folder)
        return [
            p.replace(folder + os.sep, "").replace(folder, "the keyword folder") for p in self.last_problems
        ]

    def _reject(self, stamp: tuple, problems: list[str]) -> ReloadResult:
        self._stamp = stamp  # do not retry the same broken files every sweep
        self.last_problems = problems
        self.rejected_at = self.rejected_at or datetime.now(UTC)
        log.error(
            "keyword_library_rejected", kept_version=self.library.version, folder=str(self.folder),
            problems=problems,
        )
        return ReloadResult(False, self.library.version, problems)
