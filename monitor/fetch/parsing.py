"""Where feed parsing runs: in this process, or in a pool of worker processes.

feedparser costs about 4.5 ms of pure-Python CPU per 20-entry feed (bench/crawl.py), more than the
HTTP exchange itself; under the GIL it would cap one process at about 150 feeds/s before anything
else is done. A process pool puts parsing on the other cores, and a feed that crashes or wedges
the parser takes down a worker, not the service.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import tzinfo
from functools import partial

import structlog

from monitor.fetch.feeds import FeedError, ParsedFeed, parse_feed

log = structlog.get_logger("fenghuo.fetch")


def _start_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the service shuts the pool down itself, and a
    # worker killed first would leave its semaphores behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """On Linux, ask the kernel to end this parse process when the service process dies, even by
    kill -9: otherwise it lingers as an orphan waiting for work that never comes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the service died before the request took effect
        os._exit(0)


class FeedParsing:
    """parse(body, …) → ParsedFeed, in-process when workers == 0, else in a process pool."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        zone: tzinfo,
        content_type: str | None,
        encoding_override: str | None,
    ) -> ParsedFeed:
        job = partial(
            parse_feed, body, url=url, zone=zone, content_type=content_type,
            encoding_override=encoding_override,
        )
        if self.workers == 0:
            return job()
        if self._pool is None:
            # spawn, not fork: the service has threads, and forking a threaded process is unsafe.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(),),
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)
        except BrokenProcessPool:
            log.error("parser_pool_broken", url=url)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise FeedError("the feed parser process died on this feed") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
