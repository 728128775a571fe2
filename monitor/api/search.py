"""Searching the archive: GET /api/v1/search (cursor pages) and /api/v1/search/export (CSV, XLSX).

The query is in the keyword library's rule language; a search returns exactly what that rule
would match (monitor/db/search.py says how). Schemas live here, not in schemas.py: they are this
router's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from monitor.analyze.query import QueryError, SearchQuery, compile_query
from monitor.api.deps import SessionDep, SettingsDep, bad_parameter, require
from monitor.api.schemas import AUTH_ERRORS, QueryTime
from monitor.db.search import CursorError, Filters, SearchHit, all_hits, search_items
from monitor.reports import search_export

router = APIRouter(prefix="/api/v1/search", tags=["search"], dependencies=[require("viewer")], responses=AUTH_ERRORS)

EXPORT_LIMIT = 10_000


class HitOut(BaseModel):
    id: int
    outlet_id: str
    outlet_name: str
    tier: str
    url: str
    title: str
    published_at: datetime | None
    first_seen_at: datetime
    pruned: bool = Field(description="retention emptied the body: only the title was searched")
    tone: Literal["negative", "neutral", "positive"] | None
    negative_prob: float | None
    risk: int | None
    groups: list[str] = Field(description="keyword groups the item's analysis hit")
    event_id: int | None
    level: str | None = Field(description="the warning level of the item's event")
    score: int = Field(description="relevance: 3 × occurrences in the title + occurrences in the body")
    title_highlights: list[tuple[int, int]] = Field(description="[start, end) character spans in title")
    snippet: str = Field(description="the body around the first highlighted term")
    snippet_highlights: list[tuple[int, int]] = Field(description="[start, end) character spans in snippet")


class SearchOut(BaseModel):
    items: list[HitOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
    terms: list[str] = Field(description="the spellings looked for (aliases, group terms, Traditional)")
    scanned: int = Field(description="candidate rows the keyword library read for this page")
    truncated: bool = Field(description="sort=relevance ranked only the newest 1,000 matches")


def _out(hit: SearchHit) -> HitOut:
    return HitOut(
        **{name: getattr(hit, name) for name in HitOut.model_fields if name not in ("groups", "tone")},
        groups=list(hit.groups), tone=hit.tone,
    )


@dataclass
class SearchArgs:
    q: str | None
    filters: Filters
    sort: str


def _args(
    request: Request,
    q: Annotated[str | None, Query(description='A rule: `"水务" & ("停水" | "断水") & !"演练"`, near(a, b, N), @group', max_length=2000)] = None,
    since: Annotated[QueryTime | None, Query(description="first seen at or after (ISO 8601, with an offset)")] = None,
    until: Annotated[QueryTime | None, Query(description="first seen before (ISO 8601, with an offset)")] = None,
    outlet: Annotated[list[str], Query(description="outlet id; repeat for several")] = [],  # noqa: B006
    tier: Annotated[list[str], Query(description="outlet tier; repeat for several")] = [],  # noqa: B006
    tone: Annotated[list[Literal["negative", "neutral", "positive"]], Query(description="tone band")] = [],  # noqa: B006
    risk: Annotated[int | None, Query(ge=0, le=100, description="risk at least")] = None,
    group: Annotated[list[str], Query(description="keyword group hit; repeat for several")] = [],  # noqa: B006
    event: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="items of this event")] = None,
    level: Annotated[list[Literal["blue", "yellow", "orange", "red"]], Query(description="their event's level")] = [],  # noqa: B006
    sort: Annotated[Literal["time", "relevance"], Query()] = "time",
) -> SearchArgs:
    filters = Filters(since=since, until=until, outlets=tuple(outlet), tiers=tuple(tier), tones=tuple(tone),
                      risk_at_least=risk, groups=tuple(group), event_id=event, levels=tuple(level))
    return SearchArgs(q.strip() if q and q.strip() else None, filters, sort)


Args = Annotated[SearchArgs, Depends(_args)]


def _query(request: Request, q: str | None) -> SearchQuery | None:
    if q is None:
        return None
    holder = request.app.state.library
    try:
        return compile_query(q, holder.folder if holder is not None else None)
    except QueryError as error:
        raise bad_parameter(("query", "q"), str(error), q) from None



@router.get("", response_model=SearchOut, summary="Search titles and bodies with a rule-language query and filters")
def search(
    request: Request,
    session: SessionDep,
    args: Args,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    query = _query(request, args.q)
    try:
        page = search_items(session, query=query, filters=args.filters, sort=args.sort, cursor=cursor, limit=limit)
    except CursorError as error:
        raise bad_parameter(("query", "cursor"), str(error), cursor) from None
    return SearchOut(items=[_out(hit) for hit in page.hits], next_cursor=page.next_cursor, terms=page.terms,
                     scanned=page.scanned, truncated=page.truncated)


@router.get("/export", response_class=Response, summary=f"Every result (up to {EXPORT_LIMIT:,}) as CSV or XLSX")
def export(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    args: Args,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    query = _query(request, args.q)
    hits, more = all_hits(session, query=query, filters=args.filters, sort=args.sort, at_most=EXPORT_LIMIT)
    data = search_export.render(hits, format, ZoneInfo(settings.default_timezone))
    return Response(data, media_type=search_export.FORMATS[format], headers={
        "Content-Disposition": f'attachment; filename="search.{format}"',
        "X-Fenghuo-Truncated": "true" if more else "false",
    })
