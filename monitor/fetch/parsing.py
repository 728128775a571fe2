"""Where decoding and parsing run: never on the event loop, and never longer than a deadline.

feedparser costs about 4.5 ms of pure-Python CPU per 20-entry feed (bench/crawl.py), more than the
HTTP exchange itself; under the GIL it would cap one process at about 150 feeds/s before anything
else is done. A pool of worker processes puts decoding and parsing (feeds, list pages, articles)
on the other cores, and a document that crashes or wedges the parser takes down a worker, not the
service: each worker is its own single-process executor, so the one running a job that overruns
its deadline is known, killed and replaced while the others keep working.

With ``workers == 0`` jobs run in a thread of this process, which keeps the event loop answering
but cannot be killed: a runaway job is abandoned with an error and keeps its thread until it ends.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial
from typing import TypeVar

import structlog

from monitor.config import ArticleSelectors, ListSelectors
from monitor.fetch.encoding import decode_body
from monitor.fetch.feeds import ParsedFeed, parse_feed
from monitor.fetch.pages import Article, parse_article, parse_list_page
from monitor.fetch.parsed import ListLink

log = structlog.get_logger("fenghuo.fetch")

T = TypeVar("T")

# Long enough for the largest legitimate document (max_body_bytes of feed takes a few seconds),
# short enough that a wedged worker is back in service quickly. Callers pass settings.parse_timeout.
DEFAULT_DEADLINE = 30.0


class ParseError(ValueError):
    """Parsing did not finish: it overran its deadline (and was killed) or its process died."""


@dataclass(frozen=True)
class ListPage:
    links: list[ListLink]
    encoding: str
    ignored_charsets: tuple[str, ...]


@dataclass(frozen=True)
class ArticlePage:
    article: Article
    encoding: str
    ignored_charsets: tuple[str, ...]


# -- the jobs (top-level functions, so a worker process can unpickle them) ---------------------


def list_page_job(
    body: bytes, *, content_type: str | None, encoding_override: str | None, base_url: str,
    zone: tzinfo, selectors: ListSelectors | None,
) -> ListPage:
    decoded = decode_body(body, content_type, encoding_override)
    links = parse_list_page(decoded.text, base_url=base_url, zone=zone, selectors=selectors)
    return ListPage(links, decoded.encoding, decoded.ignored)


def article_job(
    body: bytes, *, content_type: str | None, encoding_override: str | None, url: str,
    zone: tzinfo, selectors: ArticleSelectors | None,
) -> ArticlePage:
    decoded = decode_body(body, content_type, encoding_override)
    article = parse_article(decoded.text, url=url, zone=zone, selectors=selectors)
    return ArticlePage(article, decoded.encoding, decoded.ignored)


# -- worker processes ------------------------------------------------------------------------


def _ready() -> int:
    return os.getpid()


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


class _Worker:
    """One parse process behind its own executor, so that it alone can be killed.

    It holds up to DEPTH jobs: one running and the next already queued, so the process does not
    sit idle for the round trip through the event loop between two jobs (that idle time cost
    parsing about 5 ms a job, nearly half the throughput of one worker).
    """

    DEPTH = 2

    def __init__(self) -> None:
        # spawn, not fork: the service has threads, and forking a threaded process is unsafe.
        self.executor = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(os.getpid(),),
        )
        # Start the process (a second of imports) now, so no job's deadline pays for it.
        self.ready: asyncio.Future = asyncio.get_running_loop().run_in_executor(self.executor, _ready)
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen by the jobs
        self.jobs: list[asyncio.Future] = []  # in submission order: the first is running
        self.dead = False
        self.culprit: asyncio.Future | None = None  # the job the process died on

    def submit(self, job: Callable[[], T]) -> tuple[asyncio.Future, list[asyncio.Future]]:
        """Queue job; returns its future and the futures that must finish before it starts."""
        ahead = [self.ready, *self.jobs]
        future = asyncio.get_running_loop().run_in_executor(self.executor, job)
        self.jobs.append(future)
        return future, ahead

    def pids(self) -> list[int]:
        return list(self.executor._processes or {})

    def kill(self, culprit: asyncio.Future | None) -> list[int]:
        """SIGKILL the process, whatever it is doing; the executor's thread reaps it."""
        self.dead = True
        self.culprit = self.culprit or culprit
        processes = list((self.executor._processes or {}).values())
        for process in processes:
            process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        return [process.pid for process in processes]

    def died_on(self, future: asyncio.Future) -> bool:
        """Whether the process died on this job, rather than on one ahead of it (after which
        the jobs behind it are simply run again elsewhere)."""
        if self.culprit is None:
            # It died by itself: the job it was running is the oldest that failed.
            self.culprit = next(
                (f for f in self.jobs if f.done() and not f.cancelled()
                 and isinstance(f.exception(), BrokenProcessPool)), future,
            )
        return self.culprit is future


class FeedParsing:
    """Runs decode-and-parse jobs for feeds, list pages and articles off the event loop.

    In a pool of ``workers`` processes, or in a thread when ``workers == 0``. Each job has a
    deadline; a worker that overruns it is killed and replaced.
    """

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers
        self._slots: asyncio.Semaphore | None = None
        self._live: list[_Worker] = []

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        zone: tzinfo,
        content_type: str | None,
        encoding_override: str | None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> ParsedFeed:
        job = partial(
            parse_feed, body, url=url, zone=zone, content_type=content_type,
            encoding_override=encoding_override,
        )
        return await self.run(job, url=url, deadline=deadline)

    async def list_page(
        self, body: bytes, *, url: str, zone: tzinfo, content_type: str | None,
        encoding_override: str | None, selectors: ListSelectors | None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> ListPage:
        job = partial(
            list_page_job, body, content_type=content_type, encoding_override=encoding_override,
            base_url=url, zone=zone, selectors=selectors,
        )
        return await self.run(job, url=url, deadline=deadline)

    async def article(
        self, body: bytes, *, url: str, zone: tzinfo, content_type: str | None,
        encoding_override: str | None, selectors: ArticleSelectors | None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> ArticlePage:
        job = partial(
            article_job, body, content_type=content_type, encoding_override=encoding_override,
            url=url, zone=zone, selectors=selectors,
        )
        return await self.run(job, url=url, deadline=deadline)

    async def run(self, job: Callable[[], T], *, url: str, deadline: float) -> T:
        """Run job (picklable) off the event loop; ParseError if it overruns deadline seconds,
        counted from when it starts running."""
        if self.workers == 0:
            return await self._in_thread(job, url, deadline)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers * _Worker.DEPTH)
        async with self._slots:
            while True:  # again only if the process died on another job queued ahead of ours
                worker = self._pick()
                future, ahead = worker.submit(job)
                running = False
                try:
                    if not all(f.done() for f in ahead):
                        await asyncio.wait(ahead)
                    running = True  # our turn: the deadline counts from here
                    done, _ = await asyncio.wait({future}, timeout=deadline)
                except asyncio.CancelledError:
                    # The outlet's own deadline, or shutdown, gave up on this job: it must not
                    # keep a worker busy behind our back. (Not started yet: just unqueue it.)
                    if running and not future.done() and not worker.dead:
                        self._kill(worker, future, url, "cancelled by its caller")
                    future.cancel()
                    worker.jobs.remove(future)
                    raise
                if not done:
                    self._kill(worker, future, url, f"overran its {deadline:g}s deadline")
                    worker.jobs.remove(future)
                    raise ParseError(
                        f"parsing took longer than {deadline:g}s; the parse process was killed"
                    )
                if not future.cancelled() and not isinstance(future.exception(), BrokenProcessPool):
                    worker.jobs.remove(future)
                    return future.result()  # the result, or the parser's own error (FeedError)
                # The process is gone: killed for a job ahead of ours, or died by itself.
                culprit = worker.died_on(future)
                worker.jobs.remove(future)
                if not worker.dead:
                    log.error("parse_process_died", url=url, pids=worker.pids())
                    worker.kill(None)
                self._live = [live for live in self._live if not live.dead]
                if culprit:
                    raise ParseError("the parse process died on this document")

    def pids(self) -> list[int]:
        """Process ids of the running parse workers (for tests and diagnostics)."""
        return [pid for worker in self._live for pid in worker.pids()]

    def close(self) -> None:
        for worker in self._live:
            worker.executor.shutdown(wait=True, cancel_futures=True)
        self._live.clear()
        self._slots = None

    # -- internals --------------------------------------------------------------------------

    def _pick(self) -> _Worker:
        """The live worker with the fewest jobs; a new one while fewer than `workers` live."""
        self._live = [worker for worker in self._live if not worker.dead]
        if len(self._live) < self.workers:
            self._live.append(_Worker())
        return min(self._live, key=lambda worker: len(worker.jobs))

    def _kill(self, worker: _Worker, culprit: asyncio.Future, url: str, reason: str) -> None:
        pids = worker.kill(culprit)
        self._live = [live for live in self._live if not live.dead]
        log.error("parse_killed", url=url, reason=reason, pids=pids, restarted=True)

    async def _in_thread(self, job: Callable[[], T], url: str, deadline: float) -> T:
        try:
            return await asyncio.wait_for(asyncio.to_thread(job), deadline)
        except TimeoutError:
            log.error(
                "parse_abandoned", url=url, deadline=deadline,
                hint="parse_workers is 0, so the parse cannot be killed; use worker processes",
            )
            raise ParseError(
                f"parsing took longer than {deadline:g}s (abandoned: parse_workers is 0, "
                "so it could not be killed)"
            ) from None
