"""Searching the archive: a rule-language query finds exactly what the rule would match, on both
engines; filters, both sort orders and cursors; titles stay searchable after the body is pruned."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text

from monitor.analyze.query import QueryError, compile_query
from monitor.db import items as item_store
from monitor.db.models import Event, EventItem, Item, ItemAnalysis, Outlet
from monitor.db.search import CursorError, Filters, index_backlog, backlog_size, search_items

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

# id, outlet, title, body, hours after T0, negative probability (None: not analysed), risk, groups
ITEMS = [
    (1, "jcrb", "江城水务：明日河西片区计划停水", "因管网改造，江城水务集团将于明日停水十二小时。", 0, 0.7, 60, ["organisation"]),
    (2, "jcrb", "江城水务开展停水应急演练", "今日上午，江城水务组织停水应急演练。", 1, 0.3, 10, ["organisation"]),
    (3, "weibo", "河西小区突然断水 居民不满", "多名居民反映，江城水务未提前通知断水。", 2, 0.9, 80, ["organisation", "complaints"]),
    (4, "weibo", "城东菜市场今日开业", "城东菜市场今日开业，市民踊跃前往。", 3, 0.1, 0, []),
    (5, "xinhua", "江城水務：河西停水已恢復", "江城水務集團表示，供水已全面恢復。", 4, 0.45, 40, ["organisation"]),
    (6, "xinhua", "=HYPERLINK(\"http://x\") 停水", "停水", 5, None, None, []),
]
OUTLETS = [("jcrb", "江城日报", "local"), ("weibo", "微博", "social"), ("xinhua", "新华社", "central")]


def load(session) -> None:
    for outlet_id, name, tier in OUTLETS:
        session.add(Outlet(id=outlet_id, name=name, kind="rss", url=f"http://{outlet_id}.test/",
                           tier=tier, region="江城", enabled=True, config={}, interval_seconds=600))
    session.flush()
    for item_id, outlet, title, body, hours, negative, risk, groups in ITEMS:
        session.add(Item(id=item_id, outlet_id=outlet, url=f"http://{outlet}.test/{item_id}",
                         canonical_url=f"http://{outlet}.test/{item_id}", url_hash=f"{item_id:064d}",
                         content_hash=f"c{item_id:063d}", title=title, text=body, language="zh-Hans",
                         first_seen_at=T0 + timedelta(hours=hours)))
    session.flush()
    for item_id, _, _, _, _, negative, risk, groups in ITEMS:
        if negative is not None:
            session.add(ItemAnalysis(
                item_id=item_id, library_version="v1", model="fixture", negative_prob=negative,
                item_negative_prob=negative, keyword_strength=0.5, risk=risk,
                hits=[{"rule": f"{g}-r", "group": g} for g in groups], reasons=[], analysed_at=T0,
            ))
    session.add(Event(id=7, title="河西停水", level="orange", status="open", first_item_id=1,
                      first_outlet_id="jcrb", first_at=T0, opened_at=T0, last_item_at=T0, item_count=2,
                      metrics={}, updated_at=T0))
    session.flush()
    for item_id in (1, 3):
        session.add(EventItem(item_id=item_id, event_id=7, joined_at=T0, similarity=1.0))


@pytest.fixture
def archive(sessions):
    """As the worker leaves it: every body indexed."""
    with sessions.begin() as session:
        load(session)
    index_backlog(sessions)
    return sessions


@pytest.fixture
def queued_archive(sessions):
    """Stored a moment ago: every item still queued for the worker's index."""
    with sessions.begin() as session:
        load(session)
    return sessions


@pytest.fixture
def half_indexed_archive(sessions):
    """The worker part-way through: the three oldest items indexed, the rest queued."""
    with sessions.begin() as session:
        load(session)
    assert index_backlog(sessions, batch=2, at_most=3) == 3
    return sessions


STATES = ["archive", "queued_archive", "half_indexed_archive"]


def ids(sessions, expression: str | None, folder: Path | None = None, **options) -> list[int]:
    query = compile_query(expression, folder) if expression else None
    with sessions() as session:
        return [hit.id for hit in search_items(session, query=query, **options).hits]


SEARCHES = [
    ("停水", [6, 5, 2, 1]),  # two characters: below the trigram, found all the same; Traditional too
    ('"水务" & ("停水" | "断水") & !"演练"', [5, 3, 1]),  # the example rule
    ("江城水务集团", [5, 1]),  # three characters and more: the trigram index; 江城水務集團 normalises
    ("断水 | 开业", [4, 3]),
    ("near(停水, 明日, 5)", [1]),  # near() is the library's: 明日…停水 in item 1's body, 4 apart
    ("菜市场 & !开业", []),
    ("不存在的词", []),
    ("管网改造", [1]),  # in a body only
    ("应急演练 | 提前通知", [3, 2]),
]


@pytest.mark.parametrize("expression, expected", SEARCHES)
@pytest.mark.parametrize("state", STATES)
def test_a_query_finds_what_the_rule_matches(request, sessions, state, expression, expected):
    """Whether items are indexed yet or still queued for the worker, the results are the same."""
    assert ids(request.getfixturevalue(state), expression) == expected


def test_results_agree_with_the_rule_item_by_item(archive):
    expression = '"水务" & ("停水" | "断水") & !"演练"'
    query = compile_query(expression)
    by_rule = sorted(i for i, _, title, body, *_ in ITEMS if query.match(title, body))
    assert sorted(ids(archive, expression)) == by_rule


def test_a_group_of_the_keyword_library_can_be_searched(archive, tmp_path):
    (tmp_path / "water.yaml").write_text(
        "name: 水务\nterms:\n  - {term: 江城水务集团, aliases: [江城水务]}\nexclude: [江城水务局]\n"
        "rules:\n  - {id: water, expr: '@water'}\n", encoding="utf-8")
    assert ids(archive, "@water & 停水", tmp_path) == [5, 2, 1]


@pytest.mark.parametrize("filters, expected", [
    (Filters(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)), [3, 2]),  # until: before
    (Filters(outlets=("jcrb",)), [2, 1]),
    (Filters(tiers=("social", "central")), [6, 5, 4, 3]),
    (Filters(tones=("negative",)), [3, 1]),
    (Filters(tones=("neutral", "positive")), [5, 4, 2]),
    (Filters(risk_at_least=60), [3, 1]),
    (Filters(groups=("complaints",)), [3]),
    (Filters(event_id=7), [3, 1]),
    (Filters(levels=("orange", "red")), [3, 1]),
])
def test_filters_without_a_query(archive, filters, expected):
    assert ids(archive, None, filters=filters) == expected


def test_filters_and_a_query_together(archive):
    assert ids(archive, "水务 | 水務", filters=Filters(tones=("negative",), tiers=("local",))) == [1]


def test_relevance_puts_title_occurrences_first(archive):
    query = compile_query("停水")
    with archive() as session:
        hits = search_items(session, query=query, sort="relevance").hits
    # 1: title + body; 6: title + body; 2: title + body; 5: title only (Traditional body has none)
    assert [(h.id, h.score) for h in hits] == [(6, 4), (2, 4), (1, 4), (5, 3)]


@pytest.mark.parametrize("sort", ["time", "relevance"])
def test_cursor_pages_cover_every_hit_once(archive, sort):
    query = compile_query("水务 | 水務 | 停水 | 开业")
    seen, cursor = [], None
    with archive() as session:
        everything = [h.id for h in search_items(session, query=query, sort=sort, limit=50).hits]
        for _ in range(10):
            page = search_items(session, query=query, sort=sort, cursor=cursor, limit=2)
            seen += [h.id for h in page.hits]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == everything and len(everything) == 6


def test_a_cursor_of_another_sort_order_is_refused(archive):
    query = compile_query("停水")
    with archive() as session:
        cursor = search_items(session, query=query, limit=1).next_cursor
        with pytest.raises(CursorError):
            search_items(session, query=query, sort="relevance", cursor=cursor)
        with pytest.raises(CursorError):
            search_items(session, query=query, cursor="not-a-cursor")


def test_highlights_point_at_the_terms(archive):
    with archive() as session:
        [hit] = search_items(session, query=compile_query("断水 & 居民")).hits
    assert [hit.title[s:e] for s, e in hit.title_highlights] == ["断水", "居民"]
    assert [hit.snippet[s:e] for s, e in hit.snippet_highlights] == ["居民", "断水"]
    assert hit.tone == "negative" and hit.level == "orange" and hit.groups == ("organisation", "complaints")


@pytest.mark.parametrize("state", STATES)
def test_pruning_keeps_titles_searchable_and_drops_bodies(request, sessions, state):
    archive = request.getfixturevalue(state)
    assert ids(archive, "管网改造") == [1]
    list(item_store.prune_bodies_in_batches(archive, before=T0 + timedelta(hours=1), now=T0))
    assert ids(archive, "管网改造") == []  # it was only in item 1's body
    assert ids(archive, "河西片区计划") == [1]  # its title stays
    with archive() as session:
        assert search_items(session, query=compile_query("河西片区计划")).hits[0].pruned
        assert_the_index_holds_exactly_the_rows(session)
    index_backlog(archive)
    assert ids(archive, "管网改造") == []
    with archive() as session:
        assert_the_index_holds_exactly_the_rows(session)


@pytest.mark.parametrize("state", STATES)
def test_the_index_follows_inserts_updates_and_deletes(request, sessions, state):
    archive = request.getfixturevalue(state)
    with archive.begin() as session:
        session.get(Item, 4).title = "城东菜市场今日停业整顿"
        session.get(Item, 1).text = "河西片区管网抢修完毕。"
        session.delete(session.get(Item, 2))
    assert ids(archive, "停业整顿") == [4]
    assert ids(archive, "应急演练") == []
    assert ids(archive, "管网抢修") == [1] and ids(archive, "管网改造") == []
    with archive() as session:
        assert_the_index_holds_exactly_the_rows(session)
    index_backlog(archive)  # the worker catches up: the same answers from the index alone
    assert ids(archive, "停业整顿") == [4]
    assert ids(archive, "管网抢修") == [1] and ids(archive, "应急演练") == []
    with archive() as session:
        assert_the_index_holds_exactly_the_rows(session)


def assert_the_index_holds_exactly_the_rows(session) -> None:
    """SQLite: items_fts holds the title and body of each row the worker has indexed, and nothing
    else. A contentless FTS5 table forgets only the values it is told: a trigger that told
    it the wrong ones (a queued body it never had) leaves stale or corrupt entries behind."""
    if session.bind.dialect.name != "sqlite":
        return  # PostgreSQL keeps its indexes itself
    queued = set(session.scalars(text("SELECT item_id FROM search_backlog")))
    expected: Counter[str] = Counter()
    for item_id, title, body in session.execute(text("SELECT id, title, text FROM items")):
        grams: set[str] = set()
        if item_id in queued:
            continue
        for column in (title, body):
            padded = (column + "\x1f\x1f").lower()
            grams |= {padded[i : i + 3] for i in range(len(padded) - 2)}
        expected.update(grams)
    assert dict(session.execute(text("SELECT term, doc FROM items_fts_vocab")).all()) == dict(expected)


def test_the_worker_indexes_queued_items_in_bounded_batches(queued_archive):
    """New items wait in a queue for the index (storing them stays cheap); each call of the
    worker's step indexes at most `at_most`, oldest first, in short transactions."""
    with queued_archive() as session:
        assert backlog_size(session) == len(ITEMS)
    assert index_backlog(queued_archive, batch=2, at_most=4) == 4
    with queued_archive() as session:
        assert backlog_size(session) == 2
        assert_the_index_holds_exactly_the_rows(session)
    assert index_backlog(queued_archive) == 2
    assert index_backlog(queued_archive) == 0
    with queued_archive() as session:
        assert backlog_size(session) == 0
        assert_the_index_holds_exactly_the_rows(session)


def test_the_pipeline_indexes_new_items_after_each_analysis(queued_archive, db_settings):
    import asyncio

    from monitor.clock import SystemClock
    from monitor.stages.pipeline import Pipeline

    pipeline = Pipeline.from_settings(db_settings, queued_archive, SystemClock())
    try:
        asyncio.run(pipeline.analyse())
    finally:
        asyncio.run(pipeline.close())
    with queued_archive() as session:
        assert backlog_size(session) == 0
        assert_the_index_holds_exactly_the_rows(session)


def test_the_index_and_its_triggers_exist_after_every_migration(archive):
    with archive() as session:
        if session.bind.dialect.name != "sqlite":
            names = set(session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'items'")))
            assert {"ix_items_search_title", "ix_items_search_text"} <= names
            return
        ddl = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'items_fts'"))
        # A later migration that rebuilds items (batch mode copying the table) drops its
        # triggers with it and the index goes stale without a sound: this says so.
        triggers = set(session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'items'")))
    assert "fts5" in ddl and "trigram" in ddl
    assert {"items_fts_insert", "items_fts_update", "items_fts_delete"} <= triggers
    with archive() as session:
        backlog_triggers = set(session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_backlog'")))
    assert backlog_triggers == {"search_backlog_indexed"}


@pytest.mark.parametrize("expression, message", [
    ("水务 & (停水", "column 9: expected ')' to close the '(' at column 6, found the end of the rule"),
    ("!演练", "needs at least one term that must occur"),
    ("@nowhere & 停水", "no keyword group '@nowhere'"),
])
def test_a_bad_query_says_what_is_wrong(expression, message):
    with pytest.raises(QueryError) as error:
        compile_query(expression)
    assert str(error.value).startswith(message)


# -- fenghuo search ------------------------------------------------------------------------------


@pytest.fixture
def cli(archive, database_url, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    monkeypatch.setenv("FENGHUO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGHUO_KEYWORDS_DIR", str(Path(__file__).parents[2] / "keywords"))
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(app, ["search", *args])


def test_cli_prints_matches_with_their_facts(cli):
    result = cli('"水务" & ("停水" | "断水") & !"演练"', "--tone", "negative")
    assert result.exit_code == 0, result.output
    assert "河西小区突然断水" in result.output and "计划停水" in result.output
    assert "应急演练" not in result.output and "2 item(s)" in result.output
    assert "事件 7 orange" in result.output


def test_cli_exports_csv_with_formulas_defused(cli, tmp_path):
    result = cli("停水", "--export", "csv", "--out", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert "5 items written" in result.output
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in text and ",=HYPERLINK" not in text


def test_cli_points_at_a_syntax_error(cli):
    result = cli("水务 & (停水")
    assert result.exit_code == 2
    assert "expected ')' to close the '(' at column 6" in result.output


@pytest.mark.parametrize("expression, expected", [
    ("ab", [9]),  # Latin under three characters: case-insensitive, like the library
    ("AB", [9]),
    ("100%", [9]),  # LIKE's wildcards are searched as themselves
    ("_0", []),
])
def test_short_latin_terms_fold_case_and_escape_wildcards(archive, expected, expression):
    with archive.begin() as session:
        session.add(Item(id=9, outlet_id="jcrb", url="http://jcrb.test/9", canonical_url="http://jcrb.test/9",
                         url_hash="9" * 64, content_hash="d" * 64, title="Ab测试 100% 达标", text="",
                         language="zh-Hans", first_seen_at=T0))
    assert ids(archive, expression) == expected


def test_short_terms_are_found_through_the_index_on_sqlite(archive):
    """The FTS5 columns are padded, so 停水 at the very end of a title begins a trigram too."""
    from monitor.db.search import _Index

    with archive() as session:
        if session.bind.dialect.name != "sqlite":
            pytest.skip("PostgreSQL has no vocabulary: its bigram index serves short terms")
        index = _Index(session)
        assert "停水\x1f" in index.trigrams("停水") and "停水十" in index.trigrams("停水")
        assert index.trigrams("鼹鼠") == []
        assert not index.broad("江城水务")
    assert ids(archive, "菜") == [4]  # one character: every trigram it begins
    assert ids(archive, "鼹鼠") == []


def test_two_character_terms_go_through_the_bigram_index_on_postgresql(archive):
    """pg_trgm extracts no trigram from %停水%: two-character words (most of Chinese) have an index
    of their own, over every two-character substring of title and body (migration 0020). The
    query must use the index's very expression, or the planner cannot use it."""
    from monitor.db.search import Filters, _base_query, _Bigrams, _condition

    with archive() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("SQLite finds short terms through the FTS5 vocabulary")
        assert sorted(session.scalar(text("SELECT search_bigrams('停水Ab')"))) == ["ab", "停水", "水a"]
        assert session.scalar(text("SELECT search_bigrams('停')")) == []
        session.execute(text("SET LOCAL enable_seqscan = off"))
        lookup = _Bigrams.rows_with("停水")
        plan = explain(session, lookup)
        assert "ix_items_search_bigrams" in plan, plan
        # The page of results then reads the ids the lookups found, by primary key.
        query = _base_query(Filters(), True).where(
            _condition(compile_query('"水务" & ("停水" | "断水")').need, True, _Bigrams(session)))
        plan = explain(session, query)
    assert "pk_items" in plan and "bigrams" not in plan, plan


@pytest.mark.parametrize("state", STATES)
def test_a_rule_of_two_character_words_is_one_bigram_lookup_on_postgresql(state, request, sessions):
    """Every part of an AND that is two-character words goes to the bigram index in one
    statement (`@>` for one word, `&&` for words any of which will do), which reads from the
    table only the rows that have them all; items still queued for the index are found by
    substring, part by part. The same rows as each part looked up on its own."""
    from sqlalchemy import event

    from monitor.db.search import _Bigrams

    sessions = request.getfixturevalue(state)
    need = compile_query('"水务" & ("停水" | "断水")').need
    with sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("SQLite intersects in FTS5")
        statements = []

        def seen(connection, cursor, statement, *args):
            statements.append(statement)

        event.listen(session.bind, "before_cursor_execute", seen)
        try:
            together = _Bigrams(session).narrow(need)
        finally:
            event.remove(session.bind, "before_cursor_execute", seen)
        apart = [_Bigrams(session).narrow(part) for part in need.parts]
    lookups = [statement for statement in statements if "search_bigrams(items.title)" in statement]
    assert len(lookups) == 1, lookups
    assert together.where == ()
    assert together.ids == apart[0].ids & apart[1].ids == {1, 2, 3, 5}  # 2 is the drill: !演练 is not a need


def test_a_bigram_the_statistics_call_common_is_not_listed_on_postgresql(archive, monkeypatch):
    """ANALYZE's most common elements of the bigram index say 停水 is in 4 of 6 rows: with
    BROAD_ROWS at 0 it is common without a lookup (the lookup of 中国 cost more at 200,000
    items than the scan it led to)."""
    import monitor.db.search as search

    with archive.begin() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("SQLite counts through the FTS5 vocabulary")
        session.execute(text("ANALYZE items"))
    monkeypatch.setattr(search, "BROAD_ROWS", 0)
    with archive() as session:
        bigrams = search._Bigrams(session)
        assert bigrams.surely_common("停水") and not bigrams.surely_common("鼹鼠")
        assert bigrams.lookup("停水") is None and bigrams.lookup("鼹鼠") == set()


def explain(session, statement) -> str:
    sql = str(statement.compile(session.bind, compile_kwargs={"literal_binds": True}))
    return "\n".join(session.scalars(text("EXPLAIN " + sql)))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("sort", ["time", "relevance"])
def test_common_and_rare_terms_mixed_in_one_query_find_the_same(request, sessions, monkeypatch, state, sort):
    """Whether each term is looked up in the index (rare) or tested on rows in time order
    (common: in more than BROAD_ROWS rows), and whatever mix of the two a rule has (水务 common,
    断水 rare: the rare term's rows narrowed by the common one's test), the results are the same."""
    import monitor.db.search as search

    archive = request.getfixturevalue(state)
    expected = {expression: ids(archive, expression, sort=sort) for expression, _ in SEARCHES}
    for analysed in (False, True):
        if analysed:
            # PostgreSQL: with ANALYZE's sample of the bigram index, a bigram it puts in many
            # rows is taken as common without listing them.
            with archive.begin() as session:
                session.execute(text("ANALYZE items"))
        for broad_rows in (0, 1, 2, 3):
            monkeypatch.setattr(search, "BROAD_ROWS", broad_rows)
            found = {expression: ids(archive, expression, sort=sort) for expression, _ in SEARCHES}
            assert found == expected, (analysed, broad_rows)
    if sort == "time":
        assert expected == dict(SEARCHES)


def test_a_very_common_word_is_scanned_in_time_order(archive, monkeypatch):
    """Past BROAD_ROWS rows the index would list and sort them all; a scan stops at a full page.
    Either way the results are the same."""
    import monitor.db.search as search

    expected = ids(archive, "水务 | 水務")
    monkeypatch.setattr(search, "BROAD_ROWS", 1)
    assert ids(archive, "水务 | 水務") == expected == [5, 3, 2, 1]
    assert ids(archive, "江城水务集团") == [5, 1]


def test_relevance_ranks_the_newest_matches_and_says_when_there_were_more(archive, monkeypatch):
    import monitor.db.search as search

    monkeypatch.setattr(search, "RELEVANCE_LIMIT", 2)
    with archive() as session:
        page = search_items(session, query=compile_query("停水"), sort="relevance")
    assert page.truncated and [h.id for h in page.hits] == [6, 5]  # the newest two, ranked


@pytest.mark.parametrize("expression, message", [
    ("(" * 300 + '"水务"' + ")" * 300, "levels of brackets"),
    ("!" * 1000 + '"水务"', "negations"),
    (" | ".join(f'"词{n}"' for n in range(991)), "at most 64 terms"),
])
def test_a_query_is_bounded_where_it_is_compiled(expression, message):
    """The API and `fenghuo search` both compile here: one bound for both (was a RecursionError
    traceback on the command line and a 500 in the API)."""
    with pytest.raises(QueryError, match=message):
        compile_query(expression)


@pytest.mark.parametrize("state", STATES)
def test_relevance_ranks_a_common_word_from_a_scan_that_stops_at_the_newest_matches(
    request, sessions, state, monkeypatch
):
    """A word in more than RELEVANCE_BROAD_ROWS rows is not listed whole through the index to keep
    the newest RELEVANCE_LIMIT (有限公司 at 1,000,000 items on PostgreSQL: 16 s): rows are tested
    by substring in time order, and reading stops once the newest matches are found. The ranking
    is the one the index gives."""
    import monitor.db.search as search

    archive = request.getfixturevalue(state)
    monkeypatch.setattr(search, "RELEVANCE_LIMIT", 2)
    with archive() as session:
        through_the_index = search_items(session, query=compile_query("停水"), sort="relevance")
    monkeypatch.setattr(search, "RELEVANCE_BROAD_ROWS", 0)
    statements: list[str] = []
    with archive() as session:
        listen = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", listen)
        try:
            by_scan = search_items(session, query=compile_query("停水"), sort="relevance")
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listen)
    assert [h.id for h in by_scan.hits] == [h.id for h in through_the_index.hits] == [6, 5]
    assert by_scan.truncated and through_the_index.truncated  # item 2 has it too
    reads = [s for s in statements if "ORDER BY items.first_seen_at DESC" in s]
    assert len(reads) == 1 and "LIMIT" in reads[0]  # one chunk of RELEVANCE_LIMIT + 1 keys
    assert not any("MATCH" in s or "search_bigrams" in s for s in reads)  # not through the index
