"""What load balancers and operators see: health, outages, rate limits."""
import sqlalchemy as sa

from .flows import HostedLogin


def test_health_check_reports_database_and_migrations(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_check_fails_when_migrations_are_pending(app, client):
    with app.app_context():
        from idp.extensions import db

        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f28c1858ff64'"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "migrations pending"


def test_database_outage_gives_a_503_page_with_retry_hint(make_app, tmp_path):
    app = make_app(database={"url": f"sqlite:///{tmp_path}/missing-dir/nothing.sqlite3"})
    response = app.test_client().get("/realms/default/.well-known/openid-configuration")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "temporarily_unavailable"
    page = app.test_client().get("/realms/default/login/abc")
    assert page.status_code == 503
    assert "try again in a few seconds" in page.get_data(as_text=True)


def test_a_database_failure_after_the_realm_is_found_still_gives_the_503_page(client, monkeypatch):
    """The page's language is looked up in the login transaction; with the database gone, the
    503 page falls back to the browser's language instead of failing a second time."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from idp.database import DirectStatement

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "get", unreachable)
    monkeypatch.setattr(DirectStatement, "run_on", unreachable)  # the transaction's read
    page = client.get("/realms/default/login/" + "a" * 32, headers={"Accept-Language": "fr"})
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert 'lang="fr"' in page.get_data(as_text=True)


def test_login_form_posts_are_rate_limited_per_ip(make_app):
    app = make_app(security={"form_rate_limit": "3 per minute"})
    client = app.test_client()
    with app.app_context():
        from .helpers import Factory

        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, secret = factory.client(realm)
    login = HostedLogin(client, "acme", client_id, secret)
    login.authorize()
    statuses = [login.log_in("nobody@example.com", "wrong password").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Too many requests" in login.page


def test_direct_login_api_is_rate_limited_per_ip(make_app):
    app = make_app(security={"form_rate_limit": "2 per minute"})
    client = app.test_client()
    with app.app_context():
        from .helpers import Factory

        factory = Factory(app)
        realm = factory.realm("acme")
        client_id, _ = factory.client(realm)
    body = {"email": "nobody@example.com", "password": "wrong password", "client_id": client_id}
    statuses = [client.post("/api/v1/realms/acme/sessions/authenticate", json=body).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_demo_shows_its_mail_outbox_to_loopback_visitors_only(app, client, instance_path):
    """A newcomer trying "Create an account" in `idp demo` reads the verification link there."""
    import json

    from idp.demo import setup_demo
    from idp.mail import wait_for_deliveries

    with app.app_context():
        setup_demo("http://localhost")
        wait_for_deliveries()  # the demo user's "phone changed" notice
    mail = {"to": "new@example.com", "subject": "Verify your email address for Demo",
            "text": "http://localhost/realms/demo/verify-email/abc\n", "html": "", "sent_at": "2026-12-01T10:00:00"}
    with (instance_path / "mail-outbox.jsonl").open("a") as outbox:
        outbox.write(json.dumps(mail) + "\n")

    page = client.get("/demo/mail")
    assert page.status_code == 200
    assert "To: new@example.com" in page.text and "/realms/demo/verify-email/abc" in page.text
    assert client.get("/demo/mail", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404


def test_demo_sms_outbox_is_a_themed_page_for_loopback_visitors_only(app, client, instance_path):
    import json

    from idp.demo import setup_demo
    from idp.mail import wait_for_deliveries

    with app.app_context():
        setup_demo("http://localhost")
        wait_for_deliveries()
    assert "No messages yet." in client.get("/demo/outbox").text
    sms = {"to": "+14155550100", "body": "123456 is your Demo code.", "sent_at": "2026-12-01T10:00:00"}
    with (instance_path / "sms-outbox.jsonl").open("a") as outbox:
        outbox.write(json.dumps(sms) + "\n")

    page = client.get("/demo/outbox")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '<link rel="stylesheet" href="/themes/default/static/style.css">' in page.text
    assert "To: +14155550100" in page.text and "123456 is your Demo code." in page.text
    assert client.get("/demo/outbox", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
