"""Settings and the YAML configuration models.

Settings come from, highest priority first: environment variables (``FENGHUO_<NAME>``), the YAML
file named by ``FENGHUO_CONFIG`` (default ``fenghuo.yaml``, optional), then the defaults below.
Every tunable lives in :class:`Settings` with a default and a help string; ``tests/test_docs.py``
checks that the README documents each one.

Outlets are data too: ``outlets.yaml`` is validated by :class:`OutletsFile`, and
:func:`load_outlets` turns any mistake into a :class:`ConfigError` naming the file, the outlet and
the field.

Every configuration file (outlets, keywords, levels, notify, roster, playbook) reports a validation
error through :func:`config_error`, so each problem reads the same way:
``<file>:<line>:<column>: field '<path>': <message>``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message says where and why."""


# ---------------------------------------------------------------------------------------------
# Durations: "90s", "10m", "1h30m", "2d" or a number of seconds.

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.startswith("p"):  # ISO 8601 ("PT10M"), as pydantic serialises; pydantic parses it
            return value  # type: ignore[return-value]
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return timedelta(seconds=float(text))
        parts = _DURATION_PART.findall(text)
        if parts and _DURATION_PART.sub("", text).strip() == "":
            return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 1h30m, 2d or seconds)")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# ---------------------------------------------------------------------------------------------
# Settings


class Settings(BaseSettings):
    """Every tunable of the service. Environment: FENGHUO_<FIELD NAME IN CAPITALS>."""

    model_config = SettingsConfigDict(env_prefix="FENGHUO_", extra="forbid")

    database_url: str = Field(
        "sqlite:///./fenghuo.db",
        description="SQLAlchemy URL. SQLite file by default; postgresql+psycopg://… in production.",
    )
    outlets_file: Path = Field(Path("outlets.yaml"), description="The outlet configuration file.")
    keywords_dir: Path | None = Field(
        None,
        description="The keyword library folder; default ./keywords, else the copy shipped inside.",
    )
    api_host: str = Field("127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(8000, description="Port the API listens on.")
    stream_max_per_token: int = Field(
        20, ge=1, description="Live-feed streams one API token may hold open at once (each console tab holds one); more: 429."
    )
    stream_max_total: int = Field(
        1000, ge=1, description="Live-feed streams one API process serves at once; more: 503."
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="console: key=value lines for people; json: one object a line."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    user_agent: str = Field(
        "Fenghuo/0.1 (public-opinion monitor)",
        description="User-Agent sent with every request; add your organisation's contact URL.",
    )
    fetch_concurrency: int = Field(64, ge=1, description="Requests in flight at once, all hosts.")
    per_host_concurrency: int = Field(2, ge=1, description="Requests in flight at once per host.")
    per_host_delay: Duration = Field(
        timedelta(seconds=1), description="Minimum gap between two request starts to one host."
    )
    host_wait: Duration = Field(
        timedelta(seconds=30),
        description="Longest wait for a turn at a busy or hung host; then the fetch fails as a timeout.",
    )
    connect_timeout: Duration = Field(timedelta(seconds=10), description="TCP/TLS connect timeout.")
    read_timeout: Duration = Field(timedelta(seconds=20), description="Timeout between two reads.")
    request_timeout: Duration = Field(
        timedelta(seconds=60), description="Whole-request deadline, redirects and body included."
    )
    max_redirects: int = Field(5, ge=0, description="Redirect hops followed before giving up.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, description="Largest response body accepted, as sent on the wire."
    )
    max_decoded_bytes: int = Field(
        20 * 1024 * 1024, description="Largest body accepted after gzip/deflate decompression."
    )
    retries: int = Field(2, ge=0, description="Extra attempts after a 5xx, 429 or network error.")
    retry_backoff: Duration = Field(
        timedelta(seconds=1), description="First retry delay; doubles each attempt, with jitter."
    )
    max_inline_retry_after: Duration = Field(
        timedelta(seconds=30),
        description="A 429/503 Retry-After up to this long is waited out; longer ones reschedule.",
    )
    failure_backoff_max: Duration = Field(
        timedelta(hours=6), description="Longest pause for an outlet that keeps failing."
    )
    unhealthy_after_errors: int = Field(
        3, ge=1, description="Consecutive failed fetches after which an outlet shows as unhealthy."
    )
    robots_cache_ttl: Duration = Field(
        timedelta(hours=12), description="How long a host's robots.txt is trusted."
    )
    allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs exempt from the private-network guard, e.g. 127.0.0.0/8 for a local farm.",
    )
    sweep_interval: Duration = Field(
        timedelta(seconds=10), description="How often the scheduler looks for due outlets."
    )
    fetch_lease: Duration = Field(
        timedelta(minutes=10),
        description="A claimed outlet is not claimed again for this long unless it finishes.",
    )
    parse_workers: int | None = Field(
        None,
        ge=0,
        description="Processes that parse feeds; 0 parses in the main process; default: cores - 1.",
    )
    parse_timeout: Duration = Field(
        timedelta(seconds=30),
        description="Longest decode-and-parse of one document; a parse process past it is killed.",
    )
    max_articles_per_fetch: int = Field(
        30, ge=1, description="New article links a list page may add in one fetch."
    )
    levels_file: Path | None = Field(
        None, description="Warning-level rules (levels.yaml); default: the file shipped inside."
    )
    notify_file: Path | None = Field(
        None, description="Chat channels and routes per level (notify.yaml); none: no pushes."
    )
    playbook_file: Path | None = Field(
        None, description="Response playbook for event briefs (playbook.yaml); default: the file shipped inside."
    )
    delivery_lease: Duration = Field(
        timedelta(minutes=2),
        description="A push being sent is not sent by another worker for this long; after it, a dead worker's push is resent.",
    )
    public_url: str | None = Field(
        None, description="Where people reach this service (links in chat messages), e.g. https://yq.example.org"
    )
    llm_url: str | None = Field(
        None, description="OpenAI-compatible chat endpoint that rewrites a brief's overview and viewpoints as prose, beside the draft; unset: the draft only."
    )
    llm_model: str = Field("default", description="Model name sent to FENGHUO_LLM_URL (the name your model server serves).")
    llm_api_key: str | None = Field(None, description="Bearer key for FENGHUO_LLM_URL, when the server wants one.", repr=False)
    link_secret: str | None = Field(
        None,
        description="Signs the one-tap acknowledge links in chat messages; unset: messages carry no such link.",
        repr=False,
    )
    metrics_access: Literal["loopback", "token", "public"] = Field(
        "loopback",
        description="Who may read /metrics and /readyz: loopback (clients on this machine, or any API token), token (an API token only), public.",
    )
    sentiment_model: str = Field(
        "fenghuo-general", description="Sentiment model: fenghuo-general or snownlp."
    )
    analysis_interval: Duration = Field(
        timedelta(seconds=5),
        description="How often new items are scored (and the library re-read) when no fetch woke the analysis sooner.",
    )
    ack_target: Duration = Field(
        timedelta(minutes=30),
        description="Orange and red alerts should be acknowledged within this (30 min: a common target for urgent warnings).",
    )
    default_timezone: str = Field(
        "Asia/Shanghai",
        description="The deployment's one zone for people: every time the console, the reports and the CLI tables show "
        "(named beside it), duty days, and naive times on pages whose outlet names none. APIs keep ISO times with offsets.",
    )
    body_retention: Duration | None = Field(
        timedelta(days=180),
        description="Raw item text older than this is emptied (titles, links, scores, events and the log are kept); empty: keep forever.",
    )
    hotlist_history_retention: Duration | None = Field(
        timedelta(days=30),
        description="Hot-list snapshots and their ranks older than this are deleted (each story's first, best and last rank and time on the list stay); empty: keep forever.",
    )
    report_time: str = Field(
        "mon 08:00",
        description="When the weekly report of the week just ended is made (day and time in default_timezone).",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$",
    )
    report_font: Path | None = Field(
        None, description="A .ttf/.otf/.ttc font with Chinese for reports; unset: the one fontconfig picks for zh-cn."
    )
    anomaly_z: float = Field(
        4.0, gt=0, description="A keyword group's hour is a volume anomaly above expected + this many spreads (README 'Volume trends')."
    )
    anomaly_min_count: int = Field(
        10, ge=1, description="No volume anomaly below this many items in the hour: a quiet group does not alarm on 3."
    )
    trending_file: Path | None = Field(
        None, description="trending.yaml: the region and industry terms that flag a hot story (热点); unset: none flagged."
    )

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):  # from an env var: "127.0.0.0/8,::1/128" or a JSON list
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allow_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    @field_validator("body_retention", "hotlist_history_retention", mode="before")
    @classmethod
    def _retention_off(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() in ("", "0", "off", "none", "forever") else value

    @field_validator("body_retention")
    @classmethod
    def _retention_long_enough(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=7):
            raise ValueError("must be at least 7d: the events stage reads the text of the last days' items")
        return value

    @field_validator("hotlist_history_retention")
    @classmethod
    def _history_long_enough(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=1):
            raise ValueError("must be at least 1d: the console charts a day of rank history")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = Path(os.environ.get("FENGHUO_CONFIG", "fenghuo.yaml"))
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if yaml_file.is_file():
            read_yaml(yaml_file)  # another encoding or a syntax error: a ConfigError with the place
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file, yaml_file_encoding="utf-8-sig"),)
        return sources


def keywords_folder(settings: Settings) -> Path:
    if settings.keywords_dir is not None:
        return settings.keywords_dir
    if Path("keywords").is_dir():
        return Path("keywords")
    package = Path(__file__).parent
    for candidate in (package / "_bundled" / "keywords", package.parent / "keywords"):
        if candidate.is_dir():
            return candidate
    return Path("keywords")


def parse_workers(settings: Settings) -> int:
    if settings.parse_workers is not None:
        return settings.parse_workers
    return max(0, (os.cpu_count() or 1) - 1)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise config_error("settings", error) from None


# ---------------------------------------------------------------------------------------------
# Outlets


class OutletKind(StrEnum):
    rss = "rss"  # RSS or Atom feed
    page = "page"  # an HTML list page whose links lead to article pages
    json = "json"  # JSON Feed 1.1, or any JSON API read through a `mapping`
    hotlist = "hotlist"  # a platform's ranked hot list (JSON + mapping); each fetch is a snapshot


class Tier(StrEnum):
    """Who publishes: the tiers an event's spread is measured across."""

    central_media = "central_media"
    local_media = "local_media"
    industry_media = "industry_media"
    government = "government"
    forum = "forum"
    social = "social"
    self_media = "self_media"


TIER_LABELS = {
    Tier.central_media: "中央媒体",
    Tier.local_media: "地方媒体",
    Tier.industry_media: "行业媒体",
    Tier.government: "政府网站",
    Tier.forum: "论坛社区",
    Tier.social: "社交媒体",
    Tier.self_media: "自媒体",
}


class ListSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    link: str = Field(description="CSS selector of the article links (<a> elements).")
    title: str | None = Field(None, description="Selector, relative to the link's parent item.")
    time: str | None = None


class ArticleSelectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    time: str | None = None
    body: str | None = None
    author: str | None = None


class Selectors(BaseModel):
    model_config = ConfigDict(extra="forbid")
    list: ListSelectors | None = None
    article: ArticleSelectors | None = None


class JsonMapping(BaseModel):
    """Where a JSON API keeps its entries and which fields are which, as JMESPath expressions
    (https://jmespath.org): `items` is evaluated on the whole document, the others on each entry.
    A ready-made mapping is named instead (`mapping: weibo-hot`, monitor/hotlists.yaml)."""

    model_config = ConfigDict(extra="forbid")
    preset: str | None = Field(None, description="Name of the ready-made mapping this came from.")
    items: str = Field(description="Expression for the list of entries, e.g. data.realtime")
    title: str = Field(description="Entry title (for a hot list, the topic).")
    url: str | None = Field(None, description="Entry link; relative links resolve against the outlet URL.")
    time: str | None = Field(None, description="Publication time: ISO 8601, RFC 822 or Unix seconds/ms.")
    text: str | None = None
    author: str | None = None
    rank: str | None = Field(None, description="Rank on the list; default: position in the list.")
    heat: str | None = Field(None, description="Heat score: a number, or text such as '1234万热度'.")
    min_interval: Duration | None = Field(None, description="Shortest interval the platform tolerates.")

    @model_validator(mode="after")
    def _expressions_compile(self) -> JsonMapping:
        import jmespath
        from jmespath.exceptions import JMESPathError

        for name in ("items", "title", "url", "time", "text", "author", "rank", "heat"):
            expression = getattr(self, name)
            if expression is None:
                continue
            try:
                jmespath.compile(expression)
            except JMESPathError as error:
                problem = str(error).splitlines()[0]
                raise ValueError(f"{name}: not a JMESPath expression: {expression!r} ({problem})") from None
        return self


def _ready_mapping(value: Any) -> Any:
    """`mapping: weibo-hot` names a ready-made mapping (monitor/hotlists.yaml)."""
    if not isinstance(value, str):
        return value
    from monitor.presets import ready_mappings  # lazily: the presets are JsonMapping, defined here

    presets = ready_mappings()
    if value not in presets:
        raise ValueError(f"no ready-made mapping {value!r}; known: {', '.join(sorted(presets))}")
    return presets[value]


_OUTLET_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class OutletConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable identifier: lower-case letters, digits, - _ .")
    name: str
    kind: OutletKind
    url: HttpUrl
    tier: Tier
    region: str = "全国"
    interval: Duration = Field(timedelta(minutes=10), description="Usual time between fetches.")
    min_interval: Duration | None = Field(None, description="Busiest pace; default interval/2.")
    max_interval: Duration | None = Field(None, description="Quietest pace; default interval×6.")
    encoding: str | None = Field(None, description="Force a charset when the site lies about it.")
    timezone: str | None = Field(None, description="Zone for naive times; default setting.")
    selectors: Selectors | None = None
    mapping: Annotated[JsonMapping | None, BeforeValidator(_ready_mapping)] = Field(
        None, description="json/hotlist: a ready-made mapping's name or your own; json without one: JSON Feed."
    )
    respect_robots: bool = True
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _OUTLET_ID.match(value):
            raise ValueError("use 1-64 lower-case letters, digits, '-', '_' or '.'")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            _zone(value)
        return value

    @model_validator(mode="after")
    def _interval_bounds(self) -> OutletConfig:
        if self.interval < timedelta(seconds=10):
            raise ValueError("interval must be at least 10s: be polite to the site")
        # A hot list is snapshotted at a steady pace: its time on the list is measured between them.
        steady = self.kind is OutletKind.hotlist
        low = self.min_interval or (self.interval if steady else self.interval / 2)
        high = self.max_interval or (self.interval if steady else self.interval * 6)
        if not low <= self.interval <= high:
            raise ValueError("need min_interval <= interval <= max_interval")
        self.min_interval, self.max_interval = low, high
        return self

    @model_validator(mode="after")
    def _mapping_fits_kind(self) -> OutletConfig:
        if self.mapping is not None and self.kind not in (OutletKind.json, OutletKind.hotlist):
            raise ValueError(f"'mapping' is for kind json or hotlist, not {self.kind.value}")
        if self.kind is OutletKind.hotlist and self.mapping is None:
            raise ValueError("a hotlist outlet needs a 'mapping' (e.g. mapping: weibo-hot)")
        tolerated = self.mapping.min_interval if self.mapping else None
        if tolerated is not None:
            if self.interval < tolerated:
                raise ValueError(
                    f"interval must be at least {_short(tolerated)} for {self.mapping.preset or 'this mapping'}: "
                    "the platform blocks faster polling"
                )
            self.min_interval = max(self.min_interval, tolerated)  # never adapt below it either
        return self


class OutletsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outlets: list[OutletConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> OutletsFile:
        seen: set[str] = set()
        for outlet in self.outlets:
            if outlet.id in seen:
                raise ValueError(f"outlet id {outlet.id!r} is used twice")
            seen.add(outlet.id)
        return self


SAVE_AS_UTF8 = "save it as UTF-8 (Notepad: File > Save As > Encoding: UTF-8; VS Code: Save with Encoding > UTF-8)"


def read_config_text(path: Path) -> str:
    """A configuration file's text, read as UTF-8 with or without a byte-order mark.

    Anything else is a ConfigError naming the file and the fix: a file Windows Notepad saved in
    GBK must stop the loader with a message, never with a traceback, and never be half-read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None
    return decode_config(path, data)


def decode_config(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: {_not_utf8(data, error)}; {SAVE_AS_UTF8}") from None


def _not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    where = f"line {line}, column {column} (byte 0x{data[error.start]:02x})"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "is UTF-16 (Notepad's 'Unicode'), not UTF-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return f"is not UTF-8 text: invalid byte at {where}"
    return f"is not UTF-8 text (it looks like GBK/GB18030, as Windows saves Chinese by default): at {where}"


def read_yaml(path: Path) -> Any:
    """A config file's YAML; a missing or unreadable file, another encoding than UTF-8 or a syntax
    error becomes a ConfigError with the place."""
    text = read_config_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}") from None


def load_outlets(path: Path) -> list[OutletConfig]:
    """Read and validate an outlets file; every error names the file, the outlet and the field."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with an 'outlets' list at the top")
    try:
        return OutletsFile.model_validate(raw).outlets
    except ValidationError as error:
        raise config_error(path, error, label=_outlet_label(raw)) from None


def yaml_mark(root: yaml.Node | None, location) -> yaml.Mark | None:
    """The YAML position of a value, following a pydantic-style location path as far as it goes
    (a missing field points at the mapping that lacks it)."""
    node = root
    mark = root.start_mark if root is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        mark = node.start_mark
    return mark


def describe_validation(
    source: str | Path,
    error: ValidationError,
    *,
    root: yaml.Node | None = None,
    label: Callable[[list], tuple[str, list]] | None = None,
) -> list[str]:
    """The one way a validation error is told, for every configuration file: one line a problem,
    `<file>:<line>:<column>: field '<path.to.field>': <message>`.

    A file's position is found in `root` (its composed YAML) or, when a path is given without it,
    by composing the file again — only on this error path, so loading costs nothing more. `label`
    names the entry a location falls in (outlets: "outlet 'x' (#1)") and returns the rest of it.
    pydantic's "Value error, " prefix is dropped: the message is ours."""
    if root is None and isinstance(source, Path):
        try:
            root = yaml.compose(read_config_text(source))
        except (ConfigError, yaml.YAMLError):  # changed since it was read: no position, still the file
            root = None
    lines = []
    for problem in error.errors():
        location = list(problem["loc"])
        mark = yaml_mark(root, location) if root is not None else None
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else str(source)
        if label is not None:
            entry, location = label(location)
            where += f": {entry}" if entry else ""
        field = ".".join(str(part) for part in location)
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: field '{field}': {message}" if field else f"{where}: {message}")
    return lines


def config_error(source: str | Path, error: ValidationError, **how: Any) -> ConfigError:
    """A ConfigError listing every problem of a validation error (see describe_validation)."""
    return ConfigError("\n".join(describe_validation(source, error, **how)))


def _outlet_label(raw: Any) -> Callable[[list], tuple[str, list]]:
    """Problems inside the outlets list name the outlet by id (and position), not by index."""
    def label(location: list) -> tuple[str, list]:
        if len(location) >= 2 and location[0] == "outlets" and isinstance(location[1], int):
            index = location[1]
            outlet_id = None
            if isinstance(raw, dict):
                entries = raw.get("outlets") or []
                if index < len(entries) and isinstance(entries[index], dict):
                    outlet_id = entries[index].get("id")
            return (f"outlet {outlet_id!r} (#{index + 1})" if outlet_id else f"outlet #{index + 1}"), location[2:]
        return "", location
    return label


def _short(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def outlet_zone(outlet: OutletConfig, settings: Settings) -> ZoneInfo:
    return _zone(outlet.timezone or settings.default_timezone)
