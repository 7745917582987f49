"""The example brand theme in a real browser (screenshots for review)."""
import pytest

from .journeys import open_demo_and_click_log_in

pytestmark = pytest.mark.browser


def test_login_page_in_the_forest_theme(page, demo_server, screenshot):
    from idp.services.realms import update_realm

    demo_server.change(lambda realm, user: update_realm(realm, theme="forest"))
    open_demo_and_click_log_in(page, demo_server)
    assert page.locator("link[rel=stylesheet]").first.get_attribute("href") == "/themes/forest/static/style.css"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(246, 241, 231)", "the forest palette applies over the default stylesheet"
    screenshot(page, "login-forest")
