"""Translations of the hosted pages: the language comes from the login's ``ui_locales``, then
a ``ui_locales`` query parameter, then Accept-Language, else English; every page of one login
keeps it, mails follow the request that sends them, and no string ships untranslated."""
from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from idp.i18n import SUPPORTED_LOCALES, TRANSLATIONS_DIR, first_supported_locale

from .flows import HostedLogin
from .helpers import Factory
from .lifecycle.conftest import Mailbox
from .mfa import conftest as mfa_fixtures
from .mfa.conftest import PHONE, link

# the MFA suite's realms, users and browsers
mfa_settings = mfa_fixtures.mfa_settings
app = mfa_fixtures.app
in_app = mfa_fixtures.in_app
realm_factory = mfa_fixtures.realm_factory
user_factory = mfa_fixtures.user_factory
browser = mfa_fixtures.browser
sms_code = mfa_fixtures.sms_code

ROOT = Path(__file__).resolve().parent.parent
EXTRACTION_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


@pytest.fixture
def mailbox(app, instance_path) -> Mailbox:
    return Mailbox(app, Path(instance_path) / "mail-outbox.jsonl")


def html_lang(page: str) -> str:
    start = page.index('<html lang="') + len('<html lang="')
    return page[start:page.index('"', start)]


def attributes_of(page: str, element_id: str) -> dict:
    tag = re.search(rf'<[a-z]+\s[^>]*\bid="{element_id}"[^>]*>', page).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'([a-z-]+)="([^"]*)"', tag)}


def test_a_login_asked_for_in_french_is_french_from_the_login_page_to_the_code_page(
        realm_factory, user_factory, browser):
    realm = realm_factory()
    user_factory(admin_phone=PHONE, with_recovery_codes=True)
    login = browser(realm)
    login.authorize(ui_locales="fr-CA fr en")
    assert html_lang(login.page) == "fr"
    assert login.response.headers["Content-Language"] == "fr"
    assert "Se connecter" in login.page
    assert "Mot de passe oublié\u00a0?" in login.page
    assert "Log in" not in login.page

    login.log_in()
    assert "Saisissez le code envoyé au" in login.page, "the MFA page keeps the login's language"
    assert "Utiliser un code de secours" in login.page
    assert html_lang(login.page) == "fr"

    login.submit({"code": "000000"})
    assert "Ce code est incorrect. Vérifiez-le et réessayez." in login.page, "errors are French too"


def test_the_login_keeps_its_language_even_when_the_browser_prefers_another(realm_factory, browser):
    realm = realm_factory()
    login = browser(realm)
    login.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    login.authorize(ui_locales="fr")
    assert "Se connecter" in login.page, "ui_locales beats Accept-Language"
    login.get(link(login.page, "Mot de passe oublié?"))
    assert "Réinitialisez votre mot de passe" in login.page, "pages linked from the login stay French"
    assert html_lang(login.page) == "fr"


def test_a_french_browser_gets_french_pages(realm_factory, browser):
    realm = realm_factory()
    login = browser(realm)
    login.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-CA,fr;q=0.9"
    login.authorize()
    assert html_lang(login.page) == "fr"
    assert "Se connecter" in login.page
    login.submit({"email": "", "password": ""})
    assert "Saisissez votre adresse e-mail." in login.page


def test_ui_locales_on_the_authorization_request_beats_accept_language(realm_factory, browser):
    realm = realm_factory()
    login = browser(realm)
    login.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9"
    login.authorize(ui_locales="en")
    assert html_lang(login.page) == "en"
    assert login.response.headers["Content-Language"] == "en"
    assert "Forgot password?" in login.page


@pytest.mark.parametrize("ui_locales, accept_language", [("de ja", None), (None, "de-DE,de;q=0.9"), (None, None)])
def test_unsupported_languages_fall_back_to_english(realm_factory, browser, ui_locales, accept_language):
    realm = realm_factory()
    login = browser(realm)
    if accept_language:
        login.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    login.authorize(**({"ui_locales": ui_locales} if ui_locales else {}))
    assert html_lang(login.page) == "en"
    assert "Forgot password?" in login.page
    assert "Log in" in login.page


def test_a_ui_locales_query_parameter_translates_a_page_outside_a_login(app, realm_factory):
    realm = realm_factory()
    http = app.test_client()
    page = http.get(f"/realms/{realm.name}/login/unknown-login", query_string={"ui_locales": "fr"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert html_lang(text) == "fr"
    assert "Cette connexion ne peut pas continuer" in text


def test_discovery_lists_the_supported_languages(app, realm_factory):
    realm = realm_factory()
    document = app.test_client().get(f"/realms/{realm.name}/.well-known/openid-configuration").get_json()
    assert document["ui_locales_supported"] == ["en", "fr"]


def test_machine_endpoints_answer_in_english_while_pages_follow_the_browser(app):
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    document = http.get("/realms/nowhere/.well-known/openid-configuration")
    assert document.status_code == 404
    assert document.get_json()["error_description"] == "There is no realm named 'nowhere'."
    assert "Content-Language" not in document.headers
    page = http.get("/realms/nowhere/login/some-login")
    assert page.status_code == 404
    assert "Aucun domaine ne s’appelle «\u00a0nowhere\u00a0»." in page.get_data(as_text=True)
    assert page.headers["Content-Language"] == "fr"


@pytest.mark.parametrize("ui_locales, countdown_forms, copy_words", [
    ("fr", ("{n} seconde", "{n} secondes"),
     ("Copié", "Codes de secours copiés dans le presse-papiers.",
      "Impossible de copier. Sélectionnez les codes et copiez-les, ou téléchargez-les.")),
    ("en", ("{n} second", "{n} seconds"),
     ("Copied", "Recovery codes copied to the clipboard.",
      "Couldn't copy. Select the codes and copy them, or download them.")),
])
def test_the_scripts_of_the_code_and_recovery_pages_get_their_words_in_the_page_language(
        realm_factory, user_factory, browser, sms_code, ui_locales, countdown_forms, copy_words):
    realm = realm_factory()
    user_factory(admin_phone=PHONE)
    login = browser(realm)
    login.authorize(ui_locales=ui_locales)
    login.log_in()
    hint = attributes_of(login.page, "resend-hint")
    assert (hint["data-countdown-one"], hint["data-countdown-other"]) == countdown_forms, \
        "countdown.js counts down with the page's singular and plural"
    assert countdown_forms[1].replace("{n}", hint["data-countdown"]) + "</span>" in login.page

    login.submit({"code": sms_code()})
    copy_button = attributes_of(login.page, "copy-codes")
    assert (copy_button["data-copied-label"], copy_button["data-copied-message"],
            copy_button["data-copy-failed-message"]) == copy_words


@pytest.mark.parametrize("accept_language, title, description", [
    ("fr-FR,fr;q=0.9", "Page introuvable",
     ("L’adresse comporte peut-être une erreur, ou la page n’existe plus. Si vous l’avez saisie vous-même, "
      "vérifiez son orthographe.")),
    ("en", "Page not found",
     "The address may be mistyped, or the page no longer exists. If you typed it, check the spelling."),
])
def test_an_unknown_page_explains_itself_in_the_browser_language(app, accept_language, title, description):
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    page = http.get("/no-such-page")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert title in text
    assert html.escape(description, quote=False) in text
    assert "The requested URL was not found" not in text, "Werkzeug's developer wording stays off the page"


def test_machine_endpoints_keep_werkzeug_error_descriptions_in_english(app, realm_factory):
    realm = realm_factory()
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    response = http.get(f"/realms/{realm.name}/token")
    assert response.status_code == 405
    assert response.get_json() == {"error": "method_not_allowed",
                                   "error_description": "The method is not allowed for the requested URL."}


def test_a_french_visitor_who_posts_too_often_is_told_to_wait_in_french(make_app):
    app = make_app(security={"form_rate_limit": "2 per minute"})
    with app.app_context():
        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, secret = factory.client(realm)
    login = HostedLogin(app.test_client(), "acme", client_id, secret)
    login.authorize(ui_locales="fr")
    statuses = [login.log_in("nobody@example.com", "wrong password").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert "Trop de requêtes" in login.page
    assert "Vous avez envoyé trop de requêtes en peu de temps. Patientez un instant, puis réessayez." in login.page
    assert "per 1 minute" not in login.page, "Flask-Limiter's statement of the limit is not for visitors"


def test_a_password_reset_asked_for_in_french_is_mailed_in_french(realm_factory, user_factory, browser,
                                                                  mailbox):
    realm = realm_factory(mfa_enabled=False)
    user_factory()
    login = browser(realm)
    login.authorize(ui_locales="fr")
    login.get(link(login.page, "Mot de passe oublié?"))
    login.submit({"email": "alice@example.com"})
    assert "Consultez vos e-mails" in login.page

    message = mailbox.last("alice@example.com")
    assert message["subject"] == "Réinitialisez votre mot de passe Acme"
    assert message["text"].startswith("Bonjour")
    assert "Le lien est valable 30 minutes, une seule fois." in message["text"]
    assert "Reset your password" not in message["html"]
    assert '<html lang="fr">' in message["html"]
    assert "Choisissez un nouveau mot de passe" in message["html"]


@pytest.mark.parametrize("tags, expected", [
    ("fr", "fr"), ("fr-CA", "fr"), ("de fr-BE en", "fr"), ("EN-gb", "en"), ("de ja", None), ("", None), (None, None),
])
def test_ui_locales_picks_the_first_supported_language(tags, expected):
    assert first_supported_locale(tags) == expected


def _singular(msgid) -> str:
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def _forms(msgstr) -> tuple:
    return tuple(msgstr) if isinstance(msgstr, (tuple, list)) else (msgstr,)


def _messages(catalog) -> dict:
    return {_singular(m.id): tuple(_forms(m.string)) for m in catalog if m.id}


def _extracted_messages() -> set:
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    return {message for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=EXTRACTION_KEYWORDS) if message}


def _catalog_folders() -> list[Path]:
    """The main catalogs and each factor folder's own (``idp/mfa/<kind>/translations``)."""
    return [TRANSLATIONS_DIR, *sorted((ROOT / "idp" / "mfa").glob("*/translations"))]


@pytest.mark.parametrize("locale", [code for code in SUPPORTED_LOCALES if code != "en"])
def test_every_string_of_the_sources_is_translated(locale):
    """Fails when a new or changed string lacks a translation: run the pybabel commands of the
    README ("Translations") and translate what they add."""
    translated = set()
    for folder in _catalog_folders():
        path = folder / locale / "LC_MESSAGES" / "messages.po"
        if path.exists():
            catalog = read_po(path.open("rb"), locale=locale)
            translated |= {_singular(message.id) for message in catalog
                           if message.id and not message.fuzzy and all(_forms(message.string))}
    missing = {_singular(msgid) for msgid in _extracted_messages()} - translated
    assert not missing, f"untranslated in {locale}: {sorted(missing)}"


@pytest.mark.parametrize("catalogs", _catalog_folders(), ids=lambda path: str(path.relative_to(ROOT)))
@pytest.mark.parametrize("locale", [code for code in SUPPORTED_LOCALES if code != "en"])
def test_the_compiled_catalog_matches_its_source(locale, catalogs):
    folder = catalogs / locale / "LC_MESSAGES"
    if not (folder / "messages.po").exists():
        pytest.skip("no catalog for this language here")
    source = read_po((folder / "messages.po").open("rb"), locale=locale)
    compiled_now = io.BytesIO()
    write_mo(compiled_now, source)
    compiled_now.seek(0)
    shipped = read_mo((folder / "messages.mo").open("rb"))
    expected = read_mo(compiled_now)
    assert _messages(shipped) == _messages(expected), \
        "messages.mo is stale: run pybabel compile -d idp/translations"
