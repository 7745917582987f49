"""Whatever a form sends, the console answers with a page: a 4xx with the reason for bad
input, never a 500 (and, for a refused change, nothing written)."""
from __future__ import annotations

import pytest

from .test_roles import POST_ROUTES, _request

JUNK = ["", "x" * 5000, "\x00", "🙂" * 300, "-1", "' OR 1=1 --"]
FIELDS = ["name", "display_name", "phone", "redirect_uris", "post_logout_redirect_uris", "kind", "account_sid",
          "auth_token", "from_number", "messaging_service_sid", "theme", "access_token_lifetime",
          "id_token_lifetime", "refresh_token_lifetime", "sms_allowed_countries", "confirm", "mfa_enabled",
          "sms_enabled", "resource_server_for", "dpop_required"]


@pytest.mark.parametrize("endpoint", sorted(POST_ROUTES))
def test_junk_in_every_field_of_every_form_is_never_a_server_error(app, console, world, endpoint):
    browser = console("owner")
    url, _, prefix = _request(app, endpoint, world["acme"])
    for junk in JUNK:
        data = {f"{prefix}{field}" if field == "phone" else field: junk for field in FIELDS}
        response = browser.post(url, data, prefix=prefix, follow=False)
        assert response.status_code < 500, (junk[:20], response.get_data(as_text=True)[:500])
        if response.status_code >= 400:
            assert "Admin console" in response.get_data(as_text=True), "the console's own error page"


@pytest.mark.parametrize("path", [
    "/admin/realms/acme/users?offset=99999999999999999999999&q=" + "x" * 5000,
    "/admin/audit?offset=-5&realm=" + "r" * 500 + "&user=" + "u" * 5000,
    "/admin/audit.csv?since=9999-99-99",
    "/admin/audit?type=%00",
    "/admin/?realm=" + "x" * 300,
    "/admin/realms/" + "x" * 300,
    "/admin/realms/acme/clients/" + "c" * 300,
    "/admin/realms/acme/sms-integrations/99999999999999999999/activate",
])
def test_odd_urls_are_answered_without_a_server_error(console, world, path):
    browser = console("viewer")
    response = browser.http.get(path)
    assert response.status_code < 500


def test_nul_characters_are_refused_with_a_400(console, world):
    browser = console("owner")
    browser.post("/admin/realms", {"name": "a\x00b"})
    assert browser.status == 400 and "Text must not contain NUL characters." in browser.text()


@pytest.mark.parametrize("path", [
    "/admin/realms/acme/sms-integrations/99999999999999999999/activate",
    "/admin/realms/acme/api-keys/99999999999999999999/revoke",
])
def test_huge_ids_are_a_404(console, world, path):
    browser = console("owner")
    browser.post(path)
    assert browser.status == 404
