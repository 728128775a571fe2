"""Polite HTTP: one shared client, per-host limits, robots.txt, and a classified outcome.

A fetch never raises for anything the remote side does. It returns a :class:`FetchOutcome` whose
``kind`` says what happened (ok, not modified, rate limited until T, too large, blocked by the
private-network guard, disallowed by robots.txt, HTTP error, network error) with a message a
person can act on. Only programming errors escape.

Politeness, in order of application to every request:
  robots.txt (cached per origin) → per-host concurrency and minimum gap (waited for at most
  FENGHUO_HOST_WAIT, holding no general slot: a hung host delays only its own requests) →
  global concurrency →
  conditional GET → size-capped streaming with bounded decompression → retries with exponential
  backoff on 5xx, 429 and network errors, honouring Retry-After (RFC 9110 §10.2.3). What a retry
  cannot change (a file:// URL or redirect, a response that is not valid HTTP) is not retried.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

import h11
import httpcore
import httpx
import structlog
from protego import Protego

from monitor.config import Settings
from monitor.fetch.guard import AddressPolicy, BlockedAddressError, GuardedBackend
from monitor.retry_after import parse_retry_after  # noqa: F401  (also imported from here by tests)

log = structlog.get_logger("fenghuo.fetch")


# httpcore scans every pooled connection (a select() each) to place every request, so a large
# idle pool costs more than it saves: outlets are mostly on distinct hosts fetched minutes apart,
# where a kept connection has expired anyway. A few cover a list page's burst of articles.
KEEPALIVE_CONNECTIONS = 8


class OutcomeKind(StrEnum):
    ok = "ok"
    not_modified = "not_modified"
    rate_limited = "rate_limited"
    http_error = "http_error"
    too_large = "too_large"
    network_error = "network_error"
    timeout = "timeout"
    too_many_redirects = "too_many_redirects"
    blocked = "blocked"  # private-network guard
    robots_disallowed = "robots_disallowed"
    bad_content = "bad_content"  # unknown content-encoding, corrupt gzip
    unsupported_url = "unsupported_url"  # not http(s): file://, ftp://, ... (never retried)
    protocol_error = "protocol_error"  # the server broke HTTP: oversized headers, garbage


@dataclass
class FetchOutcome:
    kind: OutcomeKind
    url: str  # the final URL after redirects
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: timedelta | None = None  # server asked us to wait this long
    error: str | None = None
    attempts: int = 1
    elapsed: float = 0.0
    host_busy: bool = False  # never got a turn at its host: retrying at once would queue again

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.ok


class _BodyTooLarge(Exception):
    pass


class _BadContent(Exception):
    pass


class _TooManyRedirects(Exception):
    pass


class _UnsupportedUrl(Exception):
    pass


class _HostBusy(Exception):
    pass


# Outcomes that the same request would only repeat: retrying costs the remote server and us
# time for nothing; the scheduler's failure backoff tries the outlet again later.
_PERMANENT = frozenset({OutcomeKind.unsupported_url, OutcomeKind.protocol_error})


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _UnsupportedUrl(
            f"only http:// and https:// URLs are fetched, not {scheme + '://' if scheme else url!r}"
        )


@dataclass
class _HostGate:
    """At most N requests in flight to one host, and request starts at least `gap` apart.

    A request waits for its turn at most `patience` seconds (the gap included); then it gives up
    with _HostBusy rather than queue behind a host that is hung or slow.
    """

    slots: asyncio.Semaphore
    gap: float
    patience: float
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def __aenter__(self) -> None:
        deadline = time.monotonic() + self.patience
        try:
            async with asyncio.timeout(self.patience):
                await self.slots.acquire()
        except TimeoutError:
            raise _HostBusy(
                f"no turn at the host within {self.patience:g}s (its requests in flight hang or are slow)"
            ) from None
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            if start > deadline:  # the queue of gaps is longer than we may wait
                self.slots.release()
                raise _HostBusy(
                    f"no turn at the host within {self.patience:g}s ({self.gap:g}s between requests)"
                )
            self.next_start = start + self.gap
        if start > now:
            await asyncio.sleep(start - now)

    async def __aexit__(self, *exc) -> None:
        self.slots.release()


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with our guarded network backend underneath.

    httpx does not expose httpcore's ``network_backend`` argument, so we build the pool ourselves
    with the same limits; everything else (request mapping, error mapping) stays httpx's.
    """

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


class Fetcher:
    """Owns the shared AsyncClient and the politeness state; use as an async context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.policy = AddressPolicy(settings.allow_networks)
        self._sleep = sleep
        self._global = asyncio.Semaphore(settings.fetch_concurrency)
        self._hosts: dict[str, _HostGate] = {}
        self._robots: dict[str, tuple[float, Protego | None]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        limits = httpx.Limits(
            max_connections=settings.fetch_concurrency,
            max_keepalive_connections=KEEPALIVE_CONNECTIONS,
        )
        self.client = httpx.AsyncClient(
            transport=_GuardedTransport(self.policy, limits),
            headers={
                "User-Agent": settings.user_agent,
                # We decompress ourselves with a size bound; so only offer what we can bound.
                "Accept-Encoding": "gzip, deflate",
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
            },
            timeout=httpx.Timeout(
                connect=settings.connect_timeout.total_seconds(),
                read=settings.read_timeout.total_seconds(),
                write=settings.read_timeout.total_seconds(),
                pool=settings.request_timeout.total_seconds(),
            ),
            follow_redirects=False,  # followed by hand: each hop is counted and vetted
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()

    # -- public -----------------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        respect_robots: bool = True,
        accept: str = "*/*",
    ) -> FetchOutcome:
        started = time.monotonic()
        try:
            _check_scheme(url)
        except _UnsupportedUrl as error:
            return FetchOutcome(OutcomeKind.unsupported_url, url, error=str(error))
        if respect_robots and not await self.allowed_by_robots(url):
            return FetchOutcome(
                OutcomeKind.robots_disallowed, url,
                error=f"robots.txt of {_origin(url)} disallows {urlsplit(url).path or '/'} "
                f"for our User-Agent",
            )
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        attempts = self.settings.retries + 1
        outcome: FetchOutcome | None = None
        for attempt in range(1, attempts + 1):
            outcome = await self._attempt(url, headers)
            outcome.attempts = attempt
            delay = self._retry_delay(outcome, attempt)
            if delay is None or attempt == attempts:
                break
            log.info(
                "fetch_retry", url=url, outcome=outcome.kind, status=outcome.status,
                attempt=attempt, retry_in=round(delay, 2), error=outcome.error,
            )
            await self._sleep(delay)
        assert outcome is not None
        outcome.elapsed = time.monotonic() - started
        return outcome

    async def allowed_by_robots(self, url: str) -> bool:
        origin = _origin(url)
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one robots.txt request per origin, however many articles wait
            cached = self._robots.get(origin)
            if cached is None or cached[0] < time.monotonic():
                rules = await self._load_robots(origin)
                ttl = self.settings.robots_cache_ttl.total_seconds()
                self._robots[origin] = cached = (time.monotonic() + ttl, rules)
        rules = cached[1]
        return rules is None or rules.can_fetch(url, self.settings.user_agent)

    # -- internals --------------------------------------------------------------------------

    async def _load_robots(self, origin: str) -> Protego | None:
        robots_url = origin + "/robots.txt"
        outcome = await self._attempt(robots_url, {"Accept": "text/plain"})
        # RFC 9309 §2.3.1: 4xx means no restrictions; 5xx and unreachable mean assume disallow.
        # We fetch public pages, so an unreachable robots.txt is treated as "no rules" but logged;
        # the page fetch that follows reports the real network error.
        if outcome.ok:
            return Protego.parse(outcome.body.decode("utf-8", errors="replace"))
        if outcome.status and 400 <= outcome.status < 500:
            return None
        if outcome.status and outcome.status >= 500:
            log.warning("robots_unavailable", origin=origin, status=outcome.status)
            return Protego.parse("User-agent: *\nDisallow: /")
        log.info("robots_unreachable", origin=origin, outcome=outcome.kind, error=outcome.error)
        return None

    def _gate(self, url: str) -> _HostGate:
        host = urlsplit(url).hostname or ""
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = _HostGate(
                asyncio.Semaphore(self.settings.per_host_concurrency),
                self.settings.per_host_delay.total_seconds(),
                self.settings.host_wait.total_seconds(),
            )
        return gate

    async def _attempt(self, url: str, headers: dict[str, str]) -> FetchOutcome:
        deadline = self.settings.request_timeout.total_seconds()
        current = url
        try:
            async with asyncio.timeout(deadline):
                for _hop in range(self.settings.max_redirects + 1):
                    # The host's turn first, then a general slot: a request queued behind a hung
                    # host must not hold one of the slots every other host's requests need.
                    async with self._gate(current), self._global:
                        outcome, location = await self._one_request(current, headers)
                    if location is None:
                        return outcome
                    current = location
                    _check_scheme(current)  # a redirect to file:// is refused, not attempted
                raise _TooManyRedirects()
        except _UnsupportedUrl as error:
            return FetchOutcome(OutcomeKind.unsupported_url, current, error=f"redirect refused: {error}")
        except _HostBusy as error:
            return FetchOutcome(
                OutcomeKind.timeout, current, error=f"{urlsplit(current).hostname}: {error}", host_busy=True
            )
        except httpx.UnsupportedProtocol as error:
            return FetchOutcome(OutcomeKind.unsupported_url, current, error=str(error))
        except _TooManyRedirects:
            return FetchOutcome(
                OutcomeKind.too_many_redirects, current,
                error=f"more than {self.settings.max_redirects} redirects (loop?) from {url}",
            )
        except TimeoutError:
            return FetchOutcome(
                OutcomeKind.timeout, current,
                error=f"no complete response within {deadline:g}s",
            )
        except BlockedAddressError as error:
            return FetchOutcome(OutcomeKind.blocked, current, error=str(error))
        except httpx.ConnectError as error:
            if isinstance(error.__cause__, BlockedAddressError) or "refused to connect to" in str(error):
                return FetchOutcome(OutcomeKind.blocked, current, error=str(error))
            return FetchOutcome(OutcomeKind.network_error, current, error=f"connect failed: {error}")
        except httpx.TimeoutException as error:
            return FetchOutcome(OutcomeKind.timeout, current, error=f"{type(error).__name__}: {error}")
        except httpx.RemoteProtocolError as error:
            if _broke_http(error):
                return FetchOutcome(
                    OutcomeKind.protocol_error, current,
                    error=f"the server's response is not valid HTTP ({error}"
                    + ("; headers larger than we accept" if "too long" in str(error) else "")
                    + ")",
                )
            return FetchOutcome(
                OutcomeKind.network_error, current, error=f"{type(error).__name__}: {error}"
            )
        except httpx.TransportError as error:
            return FetchOutcome(
                OutcomeKind.network_error, current, error=f"{type(error).__name__}: {error}"
            )
        except _BodyTooLarge as error:
            return FetchOutcome(OutcomeKind.too_large, current, error=str(error))
        except _BadContent as error:
            return FetchOutcome(OutcomeKind.bad_content, current, error=str(error))

    async def _one_request(
        self, url: str, headers: dict[str, str]
    ) -> tuple[FetchOutcome, str | None]:
        """One HTTP exchange. Returns the outcome, or the next URL when it is a redirect."""
        async with self.client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                return FetchOutcome(OutcomeKind.http_error, url, status), urljoin(
                    url, response.headers["location"]
                )
            base = dict(
                url=url,
                status=status,
                content_type=response.headers.get("content-type"),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
            if status == 304:
                return FetchOutcome(OutcomeKind.not_modified, **base), None
            if status == 429 or (status == 503 and "retry-after" in response.headers):
                wait = parse_retry_after(response.headers.get("retry-after"))
                return FetchOutcome(
                    OutcomeKind.rate_limited, **base, retry_after=wait,
                    error=f"HTTP {status}: rate limited"
                    + (f", Retry-After {wait.total_seconds():g}s" if wait else ""),
                ), None
            if status >= 400:
                return FetchOutcome(
                    OutcomeKind.http_error, **base, error=f"HTTP {status} {response.reason_phrase}"
                ), None
            body = await self._read_capped(response)
            return FetchOutcome(OutcomeKind.ok, body=body, **base), None

    async def _read_capped(self, response: httpx.Response) -> bytes:
        wire_cap = self.settings.max_body_bytes
        decoded_cap = self.settings.max_decoded_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > wire_cap:
            raise _BodyTooLarge(f"body of {int(declared)} bytes declared, cap is {wire_cap}")
        decoder = _bounded_decoder(response.headers.get("content-encoding"), decoded_cap)
        chunks: list[bytes] = []
        wire = 0
        async for raw in response.aiter_raw():
            wire += len(raw)
            if wire > wire_cap:
                raise _BodyTooLarge(f"body exceeds the {wire_cap}-byte cap")
            chunks.append(decoder.feed(raw))
        chunks.append(decoder.finish())
        return b"".join(chunks)

    def _retry_delay(self, outcome: FetchOutcome, attempt: int) -> float | None:
        if outcome.kind in _PERMANENT or outcome.host_busy:
            return None
        retryable = outcome.kind in (OutcomeKind.network_error, OutcomeKind.timeout) or (
            outcome.kind is OutcomeKind.http_error and outcome.status is not None
            and outcome.status >= 500
        )
        if outcome.kind is OutcomeKind.rate_limited:
            wait = outcome.retry_after
            limit = self.settings.max_inline_retry_after
            if wait is not None and wait > limit:
                return None  # too long to hold a worker: the scheduler reschedules the outlet
            retryable = True
        if not retryable:
            return None
        backoff = self.settings.retry_backoff.total_seconds() * 2 ** (attempt - 1)
        backoff *= random.uniform(0.8, 1.2)  # jitter, so retries from many outlets do not align
        if outcome.retry_after is not None:
            backoff = max(backoff, outcome.retry_after.total_seconds())
        return backoff


class _BoundedDecoder:
    """gzip/deflate decompression that stops at a size cap instead of filling memory.

    A 10 MB gzip bomb expands to 10 GB; zlib's ``max_length`` bounds each step's output, so we
    never hold more than the cap, whatever the ratio.
    """

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.produced = 0
        self.encoding = encoding
        # 47 = 32 + 15: accept a gzip or zlib header; deflate without header is retried raw.
        self._zlib = zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
        self._raw_deflate_tried = False

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            return self._count(data)
        out = []
        try:
            while data:
                piece = self._zlib.decompress(data, self.cap - self.produced + 1)
                out.append(self._count(piece))
                data = self._zlib.unconsumed_tail
        except zlib.error as error:
            if self.encoding == "deflate" and not self._raw_deflate_tried and self.produced == 0:
                self._raw_deflate_tried = True
                self._zlib = zlib.decompressobj(-15)
                return self.feed(data)
            raise _BadContent(f"corrupt {self.encoding} body: {error}") from error
        return b"".join(out)

    def finish(self) -> bytes:
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush())

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self.cap:
            raise _BodyTooLarge(
                f"body decompresses past the {self.cap}-byte cap ({self.encoding} bomb?)"
            )
        return data


def _broke_http(error: Exception) -> bool:
    """True when h11 rejected the bytes the server sent (oversized or malformed headers, ...),
    as opposed to the connection dropping mid-exchange, which is worth retrying."""
    cause: BaseException | None = error
    for _ in range(8):  # httpcore's pool re-raises, so the h11 error may be context, not cause
        if cause is None:
            return False
        if isinstance(cause, h11.RemoteProtocolError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _bounded_decoder(content_encoding: str | None, cap: int) -> _BoundedDecoder:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate", ""):
        raise _BadContent(f"unsupported Content-Encoding {encoding!r} (we offered gzip, deflate)")
    return _BoundedDecoder(encoding or "identity", cap)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
