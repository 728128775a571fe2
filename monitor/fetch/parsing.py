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
    """One parse process behind its own executor, so that it alone can be killed."""

    def __init__(self) -> None:
        # spawn, not fork: the service has threads, and forking a threaded process is unsafe.
        self.executor = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(os.getpid(),),
        )

    def pids(self) -> list[int]:
        return list(self.executor._processes or {})

    def kill(self) -> list[int]:
        """SIGKILL the process, whatever it is doing; the executor's thread reaps it."""
        processes = list((self.executor._processes or {}).values())
        for process in processes:
            process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)
        return [process.pid for process in processes]


class FeedParsing:
    """Runs decode-and-parse jobs for feeds, list pages and articles off the event loop.

    In a pool of ``workers`` processes, or in a thread when ``workers == 0``. Each job has a
    deadline; a worker that overruns it is killed and replaced.
    """

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._live: set[_Worker] = set()

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
        """Run job (picklable) off the event loop; ParseError if it overruns deadline seconds."""
        if self.workers == 0:
            return await self._in_thread(job, url, deadline)
        idle = self._idle_queue()
        worker = await idle.get()
        timer: asyncio.Timeout | None = None
        try:
            if worker is None:
                worker = _Worker()
                self._live.add(worker)
                # Start the process (a second of imports) before the job's deadline starts.
                await asyncio.get_running_loop().run_in_executor(worker.executor, _ready)
            future = asyncio.get_running_loop().run_in_executor(worker.executor, job)
            timer = asyncio.timeout(deadline)  # the deadline counts from here
            async with timer:
                return await future
        except TimeoutError:
            if timer is None or not timer.expired():
                raise
            self._kill(worker, url, f"overran its {deadline:g}s deadline")
            worker = None
            raise ParseError(
                f"parsing took longer than {deadline:g}s; the parse process was killed"
            ) from None
        except asyncio.CancelledError:
            # The outlet's own deadline, or shutdown, gave up on this job: it must not keep a
            # worker busy behind our back.
            if worker is not None:
                self._kill(worker, url, "cancelled by its caller")
                worker = None
            raise
        except BrokenProcessPool:
            assert worker is not None
            log.error("parse_process_died", url=url, pids=worker.pids())
            worker.executor.shutdown(wait=False, cancel_futures=True)
            self._live.discard(worker)
            worker = None
            raise ParseError("the parse process died on this document") from None
        finally:
            idle.put_nowait(worker)  # None: a fresh process is started for the next job

    def pids(self) -> list[int]:
        """Process ids of the running parse workers (for tests and diagnostics)."""
        return [pid for worker in self._live for pid in worker.pids()]

    def close(self) -> None:
        for worker in self._live:
            worker.executor.shutdown(wait=True, cancel_futures=True)
        self._live.clear()
        self._idle = None

    # -- internals --------------------------------------------------------------------------

    def _idle_queue(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.workers):
                self._idle.put_nowait(None)  # started on first use
        return self._idle

    def _kill(self, worker: _Worker, url: str, reason: str) -> None:
        pids = worker.kill()
        self._live.discard(worker)
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
