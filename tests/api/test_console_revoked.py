"""A console left open on a wall screen whose token is revoked, in headless Chromium: the live feed
ends with its 'revoked' event and the console returns to the sign-in form, instead of retrying
the stream every two seconds for ever."""

from monitor.db.tokens import revoke_token
from tests.api.test_console import browser, pytestmark, server, signed_in  # noqa: F401 (fixtures)


def test_revoking_the_token_signs_the_open_console_out(server, browser, sessions, clock):  # noqa: F811
    base, token, _ = server
    page = signed_in(browser, base, token)
    page.wait_for_selector("#live.on")
    with sessions.begin() as session:
        revoke_token(session, name="值班员张三", now=clock.now())
    page.wait_for_selector("#signin:not([hidden])", timeout=10_000)
    assert page.locator("#live.off").count() == 1
    assert page.evaluate("localStorage.getItem('fenghuo.token')") is None
