"""Settings come from defaults, then the TOML file, then ``IDP_<SECTION>_<KEY>``; a bad key or
value stops start-up with a message that names the key and where it came from."""
from __future__ import annotations

import pytest

from idp.config import ConfigError, Settings, load_settings

from .helpers import PASSWORD


@pytest.fixture
def config_file(tmp_path):
    def write(text: str, name: str = "idp.toml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_values_in_the_file_replace_the_defaults_and_the_rest_stay(config_file):
    path = config_file(
        '[server]\npublic_url = "https://id.example.com"\nport = 8080\n'
        "[tokens]\naccess_token_lifetime = 120\n"
    )

    settings = load_settings(path, environ={})

    assert settings.server.public_url == "https://id.example.com"
    assert settings.server.port == 8080
    assert settings.tokens.access_token_lifetime == 120
    assert settings.tokens.id_token_lifetime == Settings().tokens.id_token_lifetime
    assert settings.login == Settings().login


def test_no_file_means_the_defaults():
    assert load_settings(None, environ={}) == Settings()


def test_an_environment_variable_overrides_one_key_of_the_file(config_file):
    path = config_file("[tokens]\naccess_token_lifetime = 120\nid_token_lifetime = 900\n")

    settings = load_settings(path, environ={
        "IDP_TOKENS_ACCESS_TOKEN_LIFETIME": "300",
        "IDP_SERVER_PUBLIC_URL": "https://login.example.com",
        "IDP_DATABASE_URL": "postgresql+psycopg://idp@db/idp",
    })

    assert settings.tokens.access_token_lifetime == 300
    assert settings.tokens.id_token_lifetime == 900
    assert settings.server.public_url == "https://login.example.com"
    assert settings.database.url == "postgresql+psycopg://idp@db/idp"


BAD_FILES = [
    # (file content, fragments the message must contain)
    ('[server]\npublik_url = "https://id.example.com"\n', ["unknown key", "server.publik_url"]),
    ("[sever]\nport = 8080\n", ["unknown section", "sever"]),
    ("debug = true\n", ["debug"]),
    ('server = "https://id.example.com"\n', ["[server] must be a table"]),
    ('[server]\nport = "eighty"\n', ["server.port", "whole number", "'eighty'"]),
    ("[server]\nport = true\n", ["server.port", "whole number"]),
    ("[server]\nport = 80.5\n", ["server.port", "whole number"]),
    ("[server]\npublic_url = 443\n", ["server.public_url", "string"]),
    ('[tokens]\naccess_token_lifetime = [600]\n', ["tokens.access_token_lifetime"]),
    ("[server\nport = 1\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("content", "fragments"), BAD_FILES, ids=[f[0] for _, f in BAD_FILES])
def test_a_bad_file_stops_start_up_naming_the_key_and_the_file(config_file, content, fragments):
    path = config_file(content)

    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})

    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_a_missing_file_stops_start_up_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as raised:
        load_settings(tmp_path / "nope.toml", environ={})
    assert str(tmp_path / "nope.toml") in str(raised.value)


@pytest.mark.parametrize(("variable", "value"), [
    ("IDP_SERVER_PORT", "eighty"),
    ("IDP_TOKENS_ACCESS_TOKEN_LIFETIME", "10m"),
])
def test_a_bad_environment_value_stops_start_up_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings(None, environ={variable: value})


@pytest.mark.parametrize(("variable", "suggestion"), [
    ("IDP_SERVER_PROT", "IDP_SERVER_PORT"),
    ("IDP_SEVER_PUBLIC_URL", "IDP_SERVER_PUBLIC_URL"),
    ("IDP_DATABASE_URI", "IDP_DATABASE_URL"),
    ("IDP_ENCRYPTION_KEY", "IDP_SECURITY_ENCRYPTION_KEY"),
    ("IDP_MAIL_SMTP_PASWORD", "IDP_MAIL_SMTP_PASSWORD"),
    ("IDP_THEME_DIR", "IDP_THEMES_DIR"),
    ("IDP_TOKENS_LIFETIME", None),
])
def test_a_mistyped_setting_in_the_environment_stops_start_up_naming_it(variable, suggestion):
    """README: typos stop start-up. A variable that looks like a setting and is none would
    otherwise leave the default in force without a word."""
    with pytest.raises(ConfigError) as raised:
        load_settings(None, environ={variable: "1"})
    message = str(raised.value)
    assert message.startswith(f"environment variable {variable} is not a setting")
    if suggestion:
        assert f"did you mean {suggestion}?" in message


@pytest.mark.parametrize("variable", [
    "IDP_CONFIG", "IDP_INSTANCE",                                 # the CLI's --config and --instance
    "IDP_TWILIO_AUTH_TOKEN", "IDP_PROVIDER_CLIENT_SECRET",        # secrets one CLI command reads
    "IDP_BIND", "IDP_WORKERS", "IDP_THREADS", "IDP_ACCESS_LOG",   # deploy/gunicorn.conf.py
    "IDP_TEST_DATABASE", "IDP_TEST_DATABASE_URL", "IDP_TEST_REDIS_URL", "IDP_BENCH_DATABASE_URL",
    "IDP_SOMETHING_OF_YOURS",
])
def test_variables_that_are_not_settings_are_left_alone(variable):
    assert load_settings(None, environ={variable: "x"}) == Settings()


def test_a_mistyped_setting_in_the_environment_stops_the_cli(runner, monkeypatch):
    monkeypatch.setenv("IDP_SERVER_PUBLIC_ULR", "https://id.example.com")
    result = runner("realms", "list")
    assert result.exit_code != 0
    assert "IDP_SERVER_PUBLIC_ULR is not a setting (did you mean IDP_SERVER_PUBLIC_URL?)" in result.stderr


def test_create_app_reads_the_file_named_by_idp_config(config_file, tmp_path, monkeypatch):
    from idp import create_app

    monkeypatch.setenv("IDP_CONFIG", str(config_file('[server]\npublic_url = "https://id.example.com"\n')))

    app = create_app(tmp_path / "instance")

    assert app.extensions["idp.settings"].server.public_url == "https://id.example.com"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_create_app_refuses_a_bad_file(config_file, tmp_path):
    from idp import create_app

    with pytest.raises(ConfigError, match="server.publik_url"):
        create_app(tmp_path / "instance", config_path=config_file('[server]\npublik_url = "x"\n'))


# --- through the CLI -------------------------------------------------------------------------

def test_cli_with_a_bad_config_exits_with_the_message(runner, config_file):
    path = config_file('[server]\npublik_url = "https://id.example.com"\n', name="bad.toml")

    result = runner("--config", str(path), "realms", "list")

    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [f"Error: {path}: unknown key 'server.publik_url'"]


def test_cli_reads_idp_config_from_the_environment(runner, config_file, monkeypatch):
    monkeypatch.setenv("IDP_CONFIG", str(config_file("[sever]\n", name="bad.toml")))
    result = runner("realms", "list")
    assert result.exit_code != 0
    assert "unknown section [sever]" in result.stderr


def test_cli_applies_file_values_and_environment_overrides(runner, config_file, monkeypatch):
    """``login.password_min_length`` is the minimum a new realm starts with."""
    path = config_file("[login]\npassword_min_length = 24\n")

    assert runner("--config", str(path), "realms", "create", "strict").exit_code == 0
    refused = runner("--config", str(path), "users", "create", "--realm", "strict", "--email", "bob@example.com",
                     "--password", PASSWORD)
    monkeypatch.setenv("IDP_LOGIN_PASSWORD_MIN_LENGTH", "12")
    assert runner("--config", str(path), "realms", "create", "relaxed").exit_code == 0
    accepted = runner("--config", str(path), "users", "create", "--realm", "relaxed", "--email", "bob@example.com",
                      "--password", PASSWORD)

    assert refused.exit_code != 0 and "at least 24 characters" in refused.stderr
    assert accepted.exit_code == 0, accepted.output
