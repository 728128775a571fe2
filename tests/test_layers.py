"""The layers, as a newcomer reads them from the imports: storage at the bottom, one outbox.

These read the source (every import, lazy ones inside functions too), so a shortcut that would
make a store depend on the fetcher or the alerting code again fails here, not in review.
"""

import ast
from pathlib import Path

import pytest

from monitor.identity import canonical_url, url_hash
from monitor.retry_after import parse_retry_after

MONITOR = Path(__file__).resolve().parent.parent / "monitor"

# Which part may not import which: a line of code knows its room. Bottom to top: the neutral
# modules (vocabulary, settings, errors, identity, clock: everyone may use them); storage (db/);
# the pure parts (analyze/ text in, scores out; events/ members in, grades out; fetch/ the network
# and parsing); alerting and reports, which read storage; stages/ and drill/, the glue that runs a
# pure part over what storage holds; and on top the entry points (api/, cli/, service.py).
NEUTRAL = {"config", "presets", "states", "errors", "identity", "retry_after", "clock", "logs", "metrics", "records"}
ENTRY = {"api", "cli", "service", "demo"}
ABOVE_STORAGE = {"fetch", "analyze", "events", "alerts", "reports", "stages", "drill"} | ENTRY
FORBIDDEN: dict[str, set[str]] = {
    **{name: {"db"} | ABOVE_STORAGE for name in NEUTRAL},
    "db": ABOVE_STORAGE,
    "analyze": {"db", "fetch", "events", "alerts", "reports", "stages", "drill"} | ENTRY,
    "events": {"db", "fetch", "alerts", "reports", "stages", "drill"} | ENTRY,
    "fetch": {"db", "analyze", "events", "alerts", "reports", "stages", "drill"} | ENTRY,
    "alerts": {"fetch", "analyze", "reports", "stages", "drill"} | ENTRY,
    "reports": {"fetch", "stages", "drill"} | ENTRY,
    "stages": ENTRY,
    "drill": ENTRY,
    "api": {"cli", "service", "demo"},
}

# Imports that break a rule and are still to move, each owned by another change at the time of
# writing. The test fails when one is gone, so the list only shrinks.
PENDING: set[tuple[str, str]] = {
    # The search store parses queries and matches text with the analysis' own functions.
    ("db/search.py", "monitor.analyze.library"),
    ("db/search.py", "monitor.analyze.query"),
    ("db/search.py", "monitor.analyze.text"),
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports at run time, at the top or inside a function; what it names
    only for the type checker (under `if TYPE_CHECKING:`) is no dependency and is left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def part_of(module: str) -> str:
    """`monitor.db.events` → "db"; `monitor.states` → "states"; `monitor` itself → ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "monitor" else ""


def imports_across_parts(path: Path) -> set[str]:
    """What a file imports from monitor, with `from monitor import x` read as monitor.x."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named = {f"monitor.{alias.name}" for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and node.module == "monitor" for alias in node.names}
    return {name for name in imports_of(path) | named if name.startswith("monitor.")}


def test_every_part_imports_only_what_its_layer_may():
    violations = set()
    for path in sorted(MONITOR.rglob("*.py")):
        relative = path.relative_to(MONITOR)
        part = relative.parts[0].removesuffix(".py")
        for name in imports_across_parts(path):
            if part_of(name) in FORBIDDEN.get(part, ()):
                violations.add((str(relative), name))
    assert violations == PENDING


def test_every_part_has_a_declared_place():
    """A new folder or top-level module must say where it sits before the rules can hold."""
    declared = NEUTRAL | set(FORBIDDEN) | ENTRY | {"__init__", "__main__"}
    parts = {p.name.removesuffix(".py") for p in MONITOR.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert parts - declared == set()


def test_storage_imports_nothing_from_fetching_or_alerting():
    violations = {
        (str(path.relative_to(MONITOR)), name)
        for path in sorted((MONITOR / "db").glob("*.py"))
        for name in imports_of(path)
        if name.startswith(("monitor.fetch", "monitor.alerts"))
    }
    assert violations == set()


def test_the_delivery_worker_does_not_borrow_from_the_fetcher():
    assert not {name for name in imports_of(MONITOR / "alerts/delivery.py") if name.startswith("monitor.fetch")}


@pytest.mark.parametrize("path", ["alerts/delivery.py", "db/alerts.py", "stages/handover.py", "stages/reports.py"])
def test_only_the_outbox_writes_deliveries(path):
    """One home for the outbox: producers and the worker call monitor/db/outbox.py."""
    source = (MONITOR / path).read_text(encoding="utf-8")
    assert "Delivery(" not in source and "DeliveryAttempt(" not in source
    assert "outbox." in source


def test_the_neutral_helpers_answer_as_before():
    assert url_hash(canonical_url("HTTP://Example.org/a?utm_source=x&b=2&a=1#top")) == url_hash(
        canonical_url("http://example.org/a?a=1&b=2")
    )
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_retry_after("120") == timedelta(seconds=120)
    assert parse_retry_after("Mon, 23 Nov 2026 08:05:00 GMT", now) == timedelta(minutes=5)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_storage_errors_speak_of_the_domain_not_of_http():
    """A store refuses with a domain error (not found, conflict, invalid: monitor/errors.py); only
    the API turns that into a status code. No store passes an HTTP status to an error it raises."""
    statuses = {
        (str(path.relative_to(MONITOR)), node.lineno)
        for path in sorted((MONITOR / "db").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
        for argument in [*node.exc.args, *(k.value for k in node.exc.keywords)]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, int) and 400 <= argument.value < 600
    }
    assert statuses == set()


def test_a_refused_duty_action_is_a_domain_error_the_api_answers_in_http(sessions, clock):
    from monitor.api.guard import http_status
    from monitor.db import alerts as alert_store
    from monitor.errors import ErrorKind
    from tests.factories import add_alert

    with sessions.begin() as session:
        alert = add_alert(session, status="resolved")
    refusals = []
    for alert_id, action, fields in [(999, "acknowledge", {}), (alert.id, "acknowledge", {}), (alert.id, "note", {"note": " "})]:
        with sessions() as session, pytest.raises(alert_store.ActionError) as refused:
            alert_store.act(session, alert_id=alert_id, action=action, actor="张三", now=clock.now(), **fields)
        refusals.append((refused.value.kind, http_status(refused.value)))
    assert refusals == [(ErrorKind.not_found, 404), (ErrorKind.conflict, 409), (ErrorKind.invalid, 422)]


NAMED = ["db/alerts.py", "db/outbox.py", "db/events.py", "db/reports.py", "db/drills.py", "db/trends.py", "cli/events.py",
         *(f"{part}/{p.name}" for part in ("alerts", "api", "events", "reports", "analyze", "drill")
           for p in sorted((MONITOR / part).glob("*.py"))),
         *(f"stages/{p.name}" for p in sorted((MONITOR / "stages").glob("*.py")) if p.name != "trending.py")]


@pytest.mark.parametrize("path", NAMED)
def test_states_and_kinds_are_named_not_spelt_out(path):
    """Alert, delivery, escalation and event states and kinds come from monitor/states.py: no comparison,
    `status=`/`kind=` argument or `.status =` assignment spells one out as a bare string."""
    from monitor import states

    vocabulary = {member.value for enum in (states.AlertStatus, states.DeliveryStatus, states.DeliveryKind,
                                             states.EscalationKind, states.DutyAction, states.EventStatus, states.ReportStatus)
                  for member in enum} | {states.AUTO}
    tree = ast.parse((MONITOR / path).read_text(encoding="utf-8"))
    spelt = []
    for node in ast.walk(tree):
        candidates = []
        if isinstance(node, ast.Compare) and any(_names_a_state(side) for side in [node.left, *node.comparators]):
            candidates = [node.left, *node.comparators]
            candidates += [e for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set)) for e in c.elts]
        elif isinstance(node, ast.keyword) and node.arg in ("status", "kind", "action", "actor"):
            candidates = [node.value]
        elif isinstance(node, ast.Assign):
            candidates = [value for target in node.targets for value in _assigned_to_a_state(target, node.value)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
            candidates = [e for a in node.args if isinstance(a, (ast.Tuple, ast.List)) for e in a.elts]
        candidates += [branch for c in candidates if isinstance(c, ast.IfExp) for branch in (c.body, c.orelse)]
        spelt += [(c.lineno, c.value) for c in candidates
                  if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value in vocabulary]
    assert spelt == []


def _assigned_to_a_state(target, value) -> list:
    """What `x.status = …`, `kind = …` or `x.status, x.closed_at = …, now` assigns to a state."""
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [v for t, v in zip(target.elts, value.elts) if _names_a_state(t)]
    return [value] if _names_a_state(target) else []


def _names_a_state(node) -> bool:
    """`x.status`, `x.kind`, `x.action`, `x.actor` or a variable of that name (other styles, such as a line's
    `style == "note"`, are other vocabularies)."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name in ("status", "kind", "action", "actor")
