"""Translations of the hosted pages and mails (Flask-Babel, gettext catalogs in
``idp/translations``).

The language of a page is, in order: the ``ui_locales`` of the authorization request the
current login serves (so every page of one login speaks the same language), a ``ui_locales``
query parameter on the page itself, the browser's ``Accept-Language``, else English. Mails use
the language of the request that sends them. The admin console and the management API stay in
English.

Adding a language: see "Translations" in the README; then add its code to
``SUPPORTED_LOCALES``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel import dates as babel_dates
from flask import g, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext

__all__ = [
    "DEFAULT_LOCALE",
    "SUPPORTED_LOCALES",
    "TRANSLATIONS_DIR",
    "_",
    "_l",
    "current_locale",
    "first_supported_locale",
    "gettext",
    "init_app",
    "localized_date",
    "ngettext",
    "select_locale",
]

_ = gettext
_l = lazy_gettext

DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "fr")
ENGLISH_ONLY_BLUEPRINTS = frozenset({"admin", "admin_entry", "api"})
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.filters["localdate"] = localized_date
    app.after_request(_announce_content_language)


def first_supported_locale(ui_locales: str | None) -> str | None:
    """The first supported language of a space-separated BCP 47 list (OpenID Connect's
    ``ui_locales``). A regional tag falls back to its language: ``fr-CA`` gives ``fr``."""
    if not isinstance(ui_locales, str):
        return None
    for tag in ui_locales.split()[:20]:
        tag = tag.replace("_", "-").lower()
        if tag in SUPPORTED_LOCALES:
            return tag
        language = tag.split("-", 1)[0]
        if language in SUPPORTED_LOCALES:
            return language
    return None


def select_locale() -> str:
    from .web import wants_json

    if not has_request_context() or request.blueprint in ENGLISH_ONLY_BLUEPRINTS or wants_json():
        return DEFAULT_LOCALE
    return (
        first_supported_locale(_login_transaction_ui_locales())
        or first_supported_locale(request.args.get("ui_locales"))
        or request.accept_languages.best_match(SUPPORTED_LOCALES)
        or DEFAULT_LOCALE
    )


def current_locale() -> str:
    """The language of the current page, as a BCP 47 tag for ``<html lang>``."""
    locale = get_locale()
    return str(locale).replace("_", "-") if locale is not None else DEFAULT_LOCALE


def localized_date(value, pattern: str) -> str:
    """A date or datetime in the current language with a CLDR pattern: ``d MMM y`` gives
    "5 Mar 2025" in English and "5 mars 2025" in French. Datetimes are shown as stored (UTC)."""
    if isinstance(value, dt.datetime):
        return babel_dates.format_datetime(value.replace(tzinfo=None), pattern, locale=current_locale())
    return babel_dates.format_date(value, pattern, locale=current_locale())


def _login_transaction_ui_locales() -> str | None:
    """``ui_locales`` of the login this page belongs to: the transaction id is in the URL of
    every page of a login (``/realms/<realm>/login/<txn>/...``)."""
    realm = g.get("realm")
    txn_id = g.get("txn_id") or (request.view_args or {}).get("txn_id")
    if realm is None or not isinstance(txn_id, str) or not txn_id or len(txn_id) > 64:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db
    from .models import LoginTransaction

    try:
        txn = db.session.get(LoginTransaction, txn_id)
    except SQLAlchemyError:
        # The database is down: the 503 page that follows must still render, in the browser's
        # language rather than the login's.
        db.session.rollback()
        return None
    if txn is None or txn.realm_id != realm.id:
        return None
    return (txn.authorization_request or {}).get("ui_locales")


def _announce_content_language(response):
    if g.get("auth_page") and response.mimetype == "text/html":
        response.headers.setdefault("Content-Language", current_locale())
        response.vary.add("Accept-Language")
    return response
