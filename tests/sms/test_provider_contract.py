"""Every SMS provider shipped in ``idp/sms/<kind>/`` goes through the same story, on every
surface generated from its spec: an operator adds it from the CLI options and the API fields
(a missing required field is refused on that field), its secret is never shown back, a text goes
out through the sender it builds, and a failed send is an ``SmsSendError`` that names no
credential. A provider without a harness in ``tests/sms/harnesses/`` fails here."""
from __future__ import annotations

import importlib
import json
import logging

import pytest

from idp.sms.registry import shipped_providers

KINDS = [spec.kind for spec in shipped_providers()]
REALM = "acme"
PHONE = "+14155550100"
TEXT = "123456 is your Acme verification code."


def _spec(kind):
    return next(spec for spec in shipped_providers() if spec.kind == kind)


@pytest.fixture(params=KINDS)
def provider(request, make_app, tmp_path, monkeypatch):
    kind = request.param
    try:
        module = importlib.import_module(f"tests.sms.harnesses.{kind}")
    except ModuleNotFoundError:
        pytest.fail(f"idp/sms/{kind}/ has no contract harness tests/sms/harnesses/{kind}.py")
    harness = module.Harness(tmp_path)
    settings = {**harness.settings, "sms": {"providers": KINDS}}
    for section, values in settings.items():
        for key, value in values.items():
            text = ",".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"IDP_{section.upper()}_{key.upper()}", text)  # the CLI's own app reads these
    app = make_app(**settings)
    harness.install(app)
    harness.app, harness.kind, harness.spec = app, kind, _spec(kind)
    with app.app_context():
        from tests.helpers import Factory

        Factory(app).realm(REALM)
    yield harness
    harness.close()


def _api(app):
    from idp.extensions import db
    from idp.services.api_keys import create_api_key
    from idp.services.realms import get_realm
    from tests.api.conftest import ApiClient

    with app.app_context():
        _, secret = create_api_key(get_realm(REALM), "contract", scopes=None)
        db.session.commit()
    return ApiClient(app.test_client(), secret)


def _add(provider, name="texts"):
    from idp.extensions import db
    from idp.services.realms import get_realm
    from idp.services.sms_integrations import add_integration

    row = add_integration(get_realm(REALM), kind=provider.kind, name=name, active=True, **provider.values())
    db.session.commit()
    return row


def test_operator_adds_it_with_the_generated_cli_options_and_the_listing_hides_the_secret(provider, runner):
    options = [arg for name, value in provider.values().items() for arg in (f"--{name.replace('_', '-')}", value)]
    added = runner("sms-integrations", "add", "--realm", REALM, "--kind", provider.kind, "--name", "texts",
                   "--active", *options)
    assert added.exit_code == 0, added.output
    assert f"added {provider.kind} integration 'texts' (active)" in added.output
    listed = json.loads(runner("sms-integrations", "list", "--realm", REALM, "--json").output)
    shown = {f.name for f in provider.spec.fields if not f.secret}
    assert [(row["kind"], set(row) - {"name", "kind", "active"}) for row in listed] == [(provider.kind, shown)]
    if provider.secret:
        assert provider.secret not in json.dumps(listed)
    unchanged = runner("sms-integrations", "set", "texts", "--realm", REALM, *options)
    assert unchanged.exit_code == 0 and "nothing changed in 'texts'" in unchanged.output, unchanged.output


def test_the_api_adds_it_and_never_answers_with_the_secret(provider):
    api = _api(provider.app)
    response = api.post("/sms_integrations", {"kind": provider.kind, "name": "texts", **provider.values()})
    assert response.status_code == 201, response.get_json()
    for answer in (response, api.get("/sms_integrations"), api.get(f"/sms_integrations/{response.get_json()['id']}")):
        assert answer.status_code == 200 or answer.status_code == 201
        if provider.secret:
            assert provider.secret not in answer.get_data(as_text=True)
    from idp.extensions import db
    from idp.models import SmsIntegration

    with provider.app.app_context():
        row = db.session.scalar(db.select(SmsIntegration))
        if provider.secret:
            assert provider.secret not in json.dumps(row.settings) and provider.secret not in row.secret_encrypted
        else:
            assert row.secret_encrypted is None


def test_each_missing_required_field_is_refused_on_that_field_and_nothing_is_added(provider):
    api = _api(provider.app)
    required = [f.name for f in provider.spec.fields if f.required]
    for name in required:
        values = {k: v for k, v in provider.values().items() if k != name}
        response = api.post("/sms_integrations", {"kind": provider.kind, "name": "texts", **values})
        assert response.status_code == 422, (name, response.get_json())
        assert list(response.get_json()["fields"]) == [name]
    assert api.get("/sms_integrations").get_json()["sms_integrations"] == []


def test_settings_change_from_the_api_keeps_the_secret_unless_a_new_one_is_given(provider):
    from idp.extensions import db
    from idp.models import SmsIntegration
    from idp.security import decrypt

    api = _api(provider.app)
    added = api.post("/sms_integrations", {"kind": provider.kind, "name": "texts", **provider.values()}).get_json()
    shown = {name: value for name, value in provider.values().items() if name != provider.spec.secret_field_name}
    changed = api.patch(f"/sms_integrations/{added['id']}", {"active": False, **shown})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {**added, "active": False}
    with provider.app.app_context():
        row = db.session.scalar(db.select(SmsIntegration))
        assert (decrypt(row.secret_encrypted) if row.secret_encrypted else None) == provider.secret
    foreign = next((f.name for spec in shipped_providers() if spec.kind != provider.kind for f in spec.fields), None)
    if foreign:
        refused = api.patch(f"/sms_integrations/{added['id']}", {foreign: "x"})
        assert refused.status_code == 422 and foreign in refused.get_json()["fields"]
    assert api.patch(f"/sms_integrations/{added['id']}", {}).status_code == 422


def test_the_openapi_document_has_its_schemas_under_the_kind_discriminator(provider):
    document = provider.app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    for suffix in ("", "Create"):
        ref = schemas[f"SmsIntegration{suffix}"]["discriminator"]["mapping"][provider.kind]
        variant = schemas[ref.rsplit("/", 1)[1]]
        assert variant["properties"]["kind"]["enum"] == [provider.kind]
        for spec_field in provider.spec.fields:
            if suffix:
                assert variant["properties"][spec_field.name].get("writeOnly", False) is spec_field.secret
                assert (spec_field.name in variant.get("required", [])) is spec_field.required
            else:
                assert (spec_field.name in variant["properties"]) is not spec_field.secret


def test_a_text_goes_out_through_the_sender_it_builds(provider):
    from idp.services.sms_integrations import sender_for

    with provider.app.app_context():
        message_id = sender_for(_add(provider)).send(PHONE, TEXT)
    assert isinstance(message_id, str) and message_id
    assert provider.received() == [(PHONE, TEXT)]


def test_a_failed_send_is_an_sms_send_error_that_names_no_credential(provider, caplog):
    from idp.services.sms_integrations import sender_for
    from idp.sms import SmsSendError

    provider.break_sending()
    with provider.app.app_context(), caplog.at_level(logging.DEBUG), pytest.raises(SmsSendError) as failure:
        sender_for(_add(provider)).send(PHONE, TEXT)
    assert str(failure.value)
    if provider.secret:
        assert provider.secret not in str(failure.value) and provider.secret not in caplog.text


def test_field_names_are_one_namespace_and_each_provider_has_at_most_one_secret():
    names = [f.name for spec in shipped_providers() for f in spec.fields]
    assert len(names) == len(set(names))
    assert all(sum(f.secret for f in spec.fields) <= 1 for spec in shipped_providers())
