"""Hosted pages wear the realm's theme, or the client's when it names one; a theme that
extends another overrides only what it changes."""
import pytest

from .flows import HostedLogin


def stylesheet_of(page: str) -> str:
    import re

    return re.search(r'<link[^>]+href="([^"]+\.css)"', page).group(1)


def test_realm_theme_dresses_the_login_page(client, factory):
    realm = factory.realm("acme", theme="forest")
    client_id, secret = factory.client(realm)
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    assert stylesheet_of(login.page) == "/themes/forest/static/style.css"
    assert "Log in" in login.page, "templates fall back to the default theme"
    css = client.get("/themes/forest/static/style.css")
    assert css.status_code == 200
    assert '@import url("../../default/static/style.css")' in css.get_data(as_text=True)
    assert client.get("/themes/forest/static/countdown.js").status_code == 200, "static files fall back too"


def test_client_theme_overrides_the_realm_theme(client, factory):
    realm = factory.realm("acme")
    plain_id, plain_secret = factory.client(realm)
    branded_id, branded_secret = factory.client(realm, name="Trail App", theme="forest")
    plain = HostedLogin(client, "acme", plain_id, plain_secret)
    plain.authorize()
    branded = HostedLogin(client, "acme", branded_id, branded_secret)
    branded.authorize()
    assert stylesheet_of(plain.page) == "/themes/default/static/style.css"
    assert stylesheet_of(branded.page) == "/themes/forest/static/style.css"
    assert "Trail App" in branded.page


@pytest.mark.parametrize("path", ["/themes/nope/static/style.css", "/themes/forest/static/../theme.toml",
                                  "/themes/forest/static/%2e%2e/theme.toml"])
def test_theme_files_outside_static_are_not_served(client, path):
    assert client.get(path).status_code == 404


def test_unknown_theme_is_refused_in_one_line(runner):
    assert runner("realms", "create", "shop").exit_code == 0
    result = runner("realms", "set", "shop", "--theme", "nope")
    assert result.exit_code != 0 and "theme 'nope' does not exist" in result.output
    result = runner("clients", "create", "--realm", "shop", "--name", "App", "--redirect-uri",
                    "https://app.example/cb", "--theme", "nope")
    assert result.exit_code != 0 and "theme 'nope' does not exist" in result.output
    assert runner("realms", "set", "shop", "--theme", "forest").exit_code == 0


def _operator_theme(root, name, *, extends="default", css="body { color: #123456; }", display_name="Acme brand"):
    folder = root / name
    (folder / "static").mkdir(parents=True)
    (folder / "theme.toml").write_text(f'display_name = "{display_name}"\nextends = "{extends}"\n')
    (folder / "static" / "style.css").write_text(css)
    return folder


def test_operator_themes_come_from_the_configured_folder_beside_the_built_in_ones(make_app, instance_path):
    """``[themes] dir`` (IDP_THEMES_DIR), relative to the instance folder: an operator's theme
    extends a built-in one, and the built-in themes stay available."""
    from tests.helpers import Factory

    _operator_theme(instance_path / "my-themes", "acme")
    app = make_app(themes={"dir": "my-themes"})
    client = app.test_client()
    with app.app_context():
        from idp.themes import theme_names

        assert theme_names() == ["acme", "default", "forest"]
        factory = Factory(app)
        realm = factory.realm("acme", theme="acme")
        client_id, secret = factory.client(realm)
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    assert stylesheet_of(login.page) == "/themes/acme/static/style.css"
    assert "Log in" in login.page, "templates come from the default theme it extends"
    assert client.get("/themes/acme/static/style.css").get_data(as_text=True) == "body { color: #123456; }"
    assert client.get("/themes/acme/static/countdown.js").status_code == 200
    assert client.get("/themes/forest/static/style.css").status_code == 200


def test_an_operator_theme_named_like_a_built_in_one_replaces_it(make_app, tmp_path):
    _operator_theme(tmp_path / "themes", "forest", css="/* ours */")
    app = make_app(themes={"dir": str(tmp_path / "themes")})
    assert app.test_client().get("/themes/forest/static/style.css").get_data(as_text=True) == "/* ours */"


def test_the_console_offers_operator_and_built_in_themes(make_app, tmp_path):
    from idp.admin.pages.realms import theme_choices

    _operator_theme(tmp_path / "themes", "acme")
    app = make_app(themes={"dir": str(tmp_path / "themes")})
    with app.test_request_context():
        assert [(c.value, c.label) for c in theme_choices()] == [
            ("acme", "Acme brand"), ("default", "Default"), ("forest", "Forest")]
