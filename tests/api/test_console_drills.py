"""A drill's alert on the duty console, in headless Chromium: the duty officer sees it beside the
real ones, marked as a drill (the drill times how soon it is acknowledged from here), and can
leave drills out of the list or look at them alone."""

from monitor.db.drills import MARKER
from monitor.db.models import Drill
from tests.api.test_console import browser, pytestmark, server, signed_in  # noqa: F401 (fixtures)
from tests.factories import add_alert, add_event


def test_a_drills_alert_is_listed_marked_and_can_be_left_out_or_shown_alone(server, browser, sessions, clock):  # noqa: F811
    base, token, _ = server
    with sessions.begin() as session:
        real = add_alert(session, level="orange", at=clock.now())
        drill = Drill(level="red", story="red", started_by="值班员张三", started_at=clock.now(), items=3)
        session.add(drill)
        session.flush()
        event = add_event(session, title=f"{MARKER}南港化工厂区发生爆炸", level="red", at=clock.now(), drill_id=drill.id)
        drilled = add_alert(session, event=event, level="red", at=clock.now())
        real_id, drill_id = real.id, drilled.id

    page = signed_in(browser, base, token)
    page.wait_for_selector(f"article[data-id='{drill_id}']")
    assert page.locator(f"article.drill[data-id='{drill_id}']").count() == 1
    assert "演练" in page.locator(f"article[data-id='{drill_id}'] .drill-badge").inner_text()
    assert page.locator(f"article.drill[data-id='{real_id}']").count() == 0
    assert page.locator(f"article[data-id='{real_id}']").count() == 1

    page.select_option("select[name=drills]", "hide")
    page.wait_for_selector(f"article[data-id='{drill_id}']", state="detached")
    assert page.locator(f"article[data-id='{real_id}']").count() == 1

    page.select_option("select[name=drills]", "only")
    page.wait_for_selector(f"article[data-id='{real_id}']", state="detached")
    assert page.locator("article.alert").count() == 1 and page.locator(f"article.drill[data-id='{drill_id}']").count() == 1
