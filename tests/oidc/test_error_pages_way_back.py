"""An authorization request the provider cannot start shows an error page; when the request
names a registered app that gave its home page (``home_uri``), the page links back to it.
Nothing taken from the request itself becomes a link."""
from __future__ import annotations

import re

import pytest

from .conftest import authorize_params


def _buttons(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="btn btn--primary" href="([^"]*)"\s*>([^<]*)</a>', page)


def test_a_bad_redirect_uri_error_links_back_to_the_apps_home_page(client, factory, realm):
    client_id, _secret = factory.client(realm, name="Shop", home_uri="https://shop.example/")
    response = client.get(f"/realms/{realm.name}/authorize",
                          query_string=authorize_params(client_id, redirect_uri="https://evil.example/cb"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "We cannot start this login" in page
    assert _buttons(page) == [("https://shop.example/", "Back to Shop")]
    assert 'href="https://evil.example' not in page


@pytest.mark.parametrize("client_id", ["unknown-app", None], ids=["unknown-client", "no-client"])
def test_without_a_known_app_the_error_page_says_where_to_go_and_links_nowhere(client, realm, client_id):
    params = authorize_params(client_id or "x")
    if client_id is None:
        params.pop("client_id")
    response = client.get(f"/realms/{realm.name}/authorize", query_string=params)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _buttons(page) == [] and "Return to the app you came from and try again." in page


def test_an_app_without_a_home_page_gets_no_link(client, factory, realm):
    client_id, _secret = factory.client(realm, name="Shop")
    response = client.get(f"/realms/{realm.name}/authorize",
                          query_string=authorize_params(client_id, redirect_uri="https://evil.example/cb"))
    assert _buttons(response.get_data(as_text=True)) == []
