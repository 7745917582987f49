"""A visitor whose browser asks for French logs in from the demo app: the login page, the texted
code page with its countdown, the recovery codes with their "Copy" button and an error page all
speak French, including the words the page scripts write, and the longer French text fits both
widths."""
from __future__ import annotations

import re

import pytest

from idp.demo import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_a_french_visitor_gets_french_pages_and_script_words_at_both_widths(new_page, demo_server, screenshot):
    demo = demo_server
    page = new_page(locale="fr-FR", permissions=["clipboard-read", "clipboard-write"])
    page.goto(demo.demo_url)
    page.get_by_role("link", name="Se connecter").click()
    page.wait_for_url(re.compile(re.escape(demo.realm_url()) + r"/login/"))
    assert page.locator("html").get_attribute("lang") == "fr"
    screenshot(page, "login", fits_width=True)

    page.get_by_label("Adresse e-mail").fill(DEMO_EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/mfa/(sms|totp)"))
    countdown = page.locator("#resend-hint [data-countdown-value]")
    shown_by_server = countdown.inner_text()
    page.wait_for_function(
        "first => document.querySelector('#resend-hint [data-countdown-value]').textContent !== first",
        arg=shown_by_server)
    assert re.fullmatch(r"\d+ secondes", countdown.inner_text()), "countdown.js counts in French"
    assert page.locator("#resend-hint").inner_text().startswith("Vous pourrez demander un nouveau code dans")
    screenshot(page, "mfa-code", fits_width=True)

    page.get_by_label("Code").fill(demo.outbox_code())
    page.get_by_role("button", name="Vérifier").click()
    page.get_by_role("heading", name="Enregistrez vos codes de secours").wait_for()
    page.get_by_role("button", name="Copier").click()
    page.get_by_role("button", name="Copié").wait_for()
    assert page.get_by_role("status").inner_text() == "Codes de secours copiés dans le presse-papiers."
    screenshot(page, "recovery-codes-copied", fits_width=True)

    page.goto(f"{demo.realm_url()}/no-such-page")
    page.get_by_role("heading", name="Page introuvable").wait_for()
    assert "L’adresse comporte peut-être une erreur" in page.locator(".subtitle").inner_text()
    screenshot(page, "error-404", fits_width=True)
