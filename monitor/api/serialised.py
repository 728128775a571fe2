"""Table rows as a response model's JSON, each distinct row serialised once, read with SQL
compiled once.

A page of the alert feed is 50 rows: converting each to Python values (seven time stamps), then
validating and serialising it through pydantic cost more than everything else the request does
(bench/feed.py). Most rows of a feed page were on the page a moment ago, unchanged. So the rows
are read as the driver returns them, and each row's JSON is kept under those raw values, all of
the model's columns: a row whose any value changed is a different key, converted and serialised
afresh, so an answer is never staler than its query. Only a miss pays for the conversion.

Building, caching and executing a statement through SQLAlchemy was, after that, most of what a
feed request still did in Python (about 600 calls of 1,700: bench/feed.py --count-calls). A
statement comes here with its *shape* (which criteria it has, monitor/db/alerts.py:
feed_parameters) and is compiled once per shape and dialect; a request sends that SQL and its
parameters on a pooled DBAPI connection (monitor/api/deps.py: Reader).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Select, Table, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType


@dataclass(frozen=True)
class _Compiled:
    """A statement's SQL for one dialect, and how a request's values become the driver's
    parameters: in order (qmark) or by name (pyformat), each through its type's bind processor,
    a value the statement fixes itself (SQLite's `OFFSET 0`) as it is."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, str, object, Callable | None], ...]  # (driver's name, our name, fixed value, processor)

    def parameters(self, values: dict):
        processed = []
        for name, key, fixed, process in self.binds:
            value = values[key] if key in values else fixed
            processed.append((name, process(value) if process is not None and value is not None else value))
        return tuple(value for _, value in processed) if self.positional else dict(processed)


def _compile(statement: Select, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    named = {name: bind for bind, name in compiled.bind_names.items()}
    # Positional: one value per placeholder, in order (a name may recur); named: one per name.
    names = compiled.positiontup if compiled.positional else list(named)
    binds = []
    for name in names:
        bind = named[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, bind.key, bind.value, processor))
    return _Compiled(compiled.string, compiled.positional, tuple(binds))


class SerialisedRows:
    """`model`'s JSON for rows of `table`, whose columns carry the model's field names."""

    def __init__(self, model: type[BaseModel], table: Table, *, size: int = 4096) -> None:
        self.model, self.size = model, size
        self.names = tuple(model.model_fields)
        self.columns = [table.c[name] for name in self.names]
        # NullType: no result processing, the driver's values as they are (the memo's key).
        self.raw = [type_coerce(column, NullType()).label(column.name) for column in self.columns]
        self.key_index = self.names.index("id")
        self._json: dict[tuple, str] = {}
        self._processors: dict[str, list] = {}
        self._compiled: dict[tuple, _Compiled] = {}

    def read(self, connection, dialect: Dialect, shape: tuple, statement: Callable[[tuple], Select],
             values: dict) -> tuple[list[int], list[str]]:
        """Runs `statement(shape)` (a select of the table's entity, with named parameters) for the
        model's columns only, with `values`, on a DBAPI `connection` of `dialect`; returns the
        rows' ids and their JSON, in the query's order."""
        compiled = self._compiled.get((dialect.name, shape))
        if compiled is None:
            compiled = self._compiled[(dialect.name, shape)] = _compile(
                statement(shape).with_only_columns(*self.raw), dialect
            )
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(values))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        texts = list(map(self._json.get, rows))
        if None in texts:
            processors = self._processors_for(dialect)
            for n, text in enumerate(texts):
                if text is None:
                    texts[n] = self._serialise(rows[n], processors)
        return [row[self.key_index] for row in rows], texts

    def _serialise(self, raw: tuple, processors: list) -> str:
        values = {name: (convert(value) if convert else value) for name, convert, value in zip(self.names, processors, raw)}
        text = self.model.model_validate(values).model_dump_json()
        if len(self._json) >= self.size:  # bounded: start again rather than track age
            self._json.clear()
        self._json[raw] = text
        return text

    def _processors_for(self, dialect: Dialect) -> list:
        processors = self._processors.get(dialect.name)
        if processors is None:
            # What the columns' own types do to a value read (UTCDateTime: parse, mark as UTC).
            processors = self._processors[dialect.name] = [
                column.type.dialect_impl(dialect).result_processor(dialect, None) for column in self.columns
            ]
        return processors


class FeedPages:
    """The feed pages an API process answered last, each under the alerts' version it read before
    making it (migration 0022: the database raises that version with every committed change to
    the alerts). A page is answered again only while the version read by the asking request is
    the same, so it is never staler than a fresh query: the page was read after that version was,
    and nothing about the alerts has committed since. Every console and script polls the feed;
    between two changes they all ask for the same few pages. One per app (its database)."""

    def __init__(self, size: int = 256, max_bytes: int = 16 << 20) -> None:
        self.size, self.max_bytes = size, max_bytes  # pages of 500 alerts are ~0.5 MB each
        self._pages: dict[tuple, tuple[int, bytes]] = {}
        self._bytes = 0

    def get(self, key: tuple, version: int) -> bytes | None:
        found = self._pages.get(key)
        return found[1] if found is not None and found[0] == version else None

    def keep(self, key: tuple, version: int, body: bytes) -> None:
        # Bounded by count and size: start again rather than track age. (Threads of the pool
        # call this at once: a race can only drop or replace a page, never answer a wrong one.)
        replaced = self._pages.get(key)
        if replaced is None and (len(self._pages) >= self.size or self._bytes + len(body) > self.max_bytes):
            self._pages.clear()
            self._bytes = 0
        self._pages[key] = (version, body)
        self._bytes += len(body) - (len(replaced[1]) if replaced is not None else 0)
