"""Table rows as a response model's JSON, each distinct row serialised once.

A page of the alert feed is 50 rows: converting each to Python values (seven time stamps), then
validating and serialising it through pydantic cost more than everything else the request does
(bench/feed.py). Most rows of a feed page were on the page a moment ago, unchanged. So the rows
are read as the driver returns them, and each row's JSON is kept under those raw values, all of
the model's columns: a row whose any value changed is a different key, converted and serialised
afresh, so an answer is never staler than its query. Only a miss pays for the conversion.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import Select, Table, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType


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

    def read(self, session: Session, query: Select) -> list[tuple[int, str]]:
        """Runs `query` (a select of the table's entity) for the model's columns only; returns each
        row's id and JSON, in the query's order."""
        processors = self._processors_for(session)
        found = []
        for row in session.execute(query.with_only_columns(*self.raw)):
            raw = tuple(row)
            text = self._json.get(raw)
            if text is None:
                values = {name: (convert(value) if convert else value)
                          for name, convert, value in zip(self.names, processors, raw)}
                text = self.model.model_validate(values).model_dump_json()
                if len(self._json) >= self.size:  # bounded: start again rather than track age
                    self._json.clear()
                self._json[raw] = text
            found.append((raw[self.key_index], text))
        return found

    def _processors_for(self, session: Session) -> list:
        dialect = session.get_bind().dialect
        processors = self._processors.get(dialect.name)
        if processors is None:
            # What the columns' own types do to a value read (UTCDateTime: parse, mark as UTC).
            processors = self._processors[dialect.name] = [
                column.type.dialect_impl(dialect).result_processor(dialect, None) for column in self.columns
            ]
        return processors
