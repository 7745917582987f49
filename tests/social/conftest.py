"""A real upstream OpenID Connect provider: a second instance of this project, with its own
instance folder, served on loopback."""
from __future__ import annotations

import shutil

import pytest
from werkzeug.serving import make_server

from idp import create_app

from ..conftest import LiveServer, test_settings
from ..helpers import PASSWORD

DOWNSTREAM_CALLBACK = "http://localhost/realms/acme/social/callback"


def start_upstream(folder, migrated_instance, redirect_uri, users):
    """A second instance of this project, on its own instance folder and loopback port, with a
    realm ``corp``, a confidential client for ``redirect_uri`` and ``users`` (email, verified)."""
    import socket
    import threading

    shutil.copytree(migrated_instance, folder)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    app = create_app(folder, settings=test_settings(server={"public_url": f"http://127.0.0.1:{port}"}),
                     test_config={"TESTING": True})
    with app.app_context():
        from idp.extensions import db
        from idp.services.clients import create_client
        from idp.services.realms import create_realm
        from idp.services.users import create_user

        realm = create_realm("corp", display_name="Corp")
        client, secret = create_client(realm, name="Downstream", redirect_uris=[redirect_uri],
                                       client_credentials=False)
        for email, verified in users:
            create_user(realm, email=email, password=PASSWORD, name=email.split("@")[0].title(),
                        email_verified=verified)
        db.session.commit()
        client_id = client.client_id
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    live = LiveServer(app, server, thread)
    live.client_id, live.client_secret = client_id, secret
    live.issuer = f"{live.url}/realms/corp"
    return live


def stop_upstream(live):
    live.server.shutdown()
    live.thread.join(timeout=5)
    with live.app.app_context():
        from idp.database import dispose_engine
        from idp.extensions import db

        dispose_engine(db.engine)
    from idp.social import upstream as upstream_module

    upstream_module._metadata_cache.clear()


@pytest.fixture
def upstream(tmp_path, migrated_instance):
    live = start_upstream(tmp_path / "upstream-instance", migrated_instance, DOWNSTREAM_CALLBACK,
                          [("bob@corp.example", True), ("eve@corp.example", False)])
    yield live
    stop_upstream(live)


@pytest.fixture
def acme(app, factory, upstream):
    from idp.extensions import db
    from idp.social.providers import add_provider

    realm = factory.realm("acme")
    factory.sms_integration(realm)
    factory.realm("acme", mfa_enabled=True, sms_enabled=True)
    add_provider(realm, kind="oidc", name="corp", display_name="Corp SSO", issuer=upstream.issuer,
                 client_id=upstream.client_id, client_secret=upstream.client_secret, trust_email=True)
    db.session.commit()
    return realm


def upstream_subject(live, email: str) -> str:
    """The ``sub`` the upstream instance gives ``email``'s user."""
    with live.app.app_context():
        from idp.services.realms import get_realm
        from idp.services.users import find_user_by_email

        return find_user_by_email(get_realm("corp"), email).id


def link_as_before(realm, local, live, email: str):
    """``local`` linked ``email``'s upstream account in an earlier login (password, second
    factor and all), so this login is an ordinary federated one."""
    from idp.extensions import db
    from idp.models import FederatedIdentity
    from idp.social.providers import get_provider

    db.session.add(FederatedIdentity(provider_id=get_provider(realm, "corp").id, user_id=local.id,
                                     subject=upstream_subject(live, email), email=email, email_verified=True))
    db.session.commit()
