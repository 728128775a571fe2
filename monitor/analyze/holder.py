"""The live keyword library: reload on change, and never replace a good library with a broken one."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
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
        self.library: KeywordLibrary = load_library(folder)  # a broken library at start-up: refuse
        self.loaded_at: datetime | None = None
        self.last_problems: list[str] = []

    def _fingerprint(self) -> tuple:
        return tuple(
            sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in self.folder.glob("*.yaml"))
        )

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
                self._stamp = stamp  # do not retry the same broken files every sweep
                self.last_problems = error.problems
                log.error(
                    "keyword_library_rejected", kept_version=self.library.version,
                    problems=error.problems,
                )
                return ReloadResult(False, self.library.version, error.problems)
            self._stamp = stamp
            self.last_problems = []
            changed = fresh.version != self.library.version
            if changed:
                log.info(
                    "keyword_library_loaded", version=fresh.version, previous=self.library.version,
                    rules=len(fresh.rules), groups=len(fresh.groups),
                )
            self.library = fresh
            return ReloadResult(changed, fresh.version, [])
