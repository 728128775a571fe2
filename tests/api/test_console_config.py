"""The duty console says when a keyword-library change was rejected: on every page, in the
signed-in language, with each problem, until the files load again."""

import pytest

from tests.api.test_console import CHROMIUM, browser, server, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")


def test_a_rejected_library_change_is_shown_on_every_page(server, browser, tmp_path):  # noqa: F811
    base, token, _ = server
    organisation = tmp_path / "keywords" / "organisation.yaml"
    original = organisation.read_bytes()
    page = browser.new_page()
    page.goto(base)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#live.on")
    assert page.locator("#config-problems").is_hidden()  # all is well: no banner

    organisation.write_bytes(original.decode("utf-8").encode("gbk"))  # saved again in Windows Notepad
    page.click("a[href='#/outlets']")
    banner = page.wait_for_selector("#config-problems:not([hidden])")
    assert "关键词库的修改未生效" in banner.inner_text() and "仍按上一版" in banner.inner_text()
    assert "organisation.yaml: is not UTF-8 text (it looks like GBK" in banner.inner_text()
    assert str(tmp_path) not in banner.inner_text()  # an operator does not learn the server's paths
    page.screenshot(path=str(shots(tmp_path) / "console-config-problem.png"), full_page=True)
    page.click("a[href='#/alerts']")
    page.wait_for_selector("#config-problems:not([hidden])")

    organisation.write_bytes(original)
    page.click("a[href='#/keywords']")
    page.wait_for_selector("#config-problems[hidden]", state="attached")
