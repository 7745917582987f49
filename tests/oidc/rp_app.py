"""A small relying party built the way a real application would build one: Authlib's Flask
client, configured only by the provider's discovery document, using code + PKCE S256 + nonce.

The tests drive it with its own Flask test client; it talks to the provider over real HTTP."""
from __future__ import annotations

import secrets

from authlib.integrations.flask_client import OAuth
from flask import Flask, jsonify, request, session

CALLBACK_URL = "http://localhost/callback"
LOGGED_OUT_URL = "http://localhost/logged-out"


def create_rp_app(issuer: str, client_id: str, client_secret: str | None, *,
                  scope: str = "openid profile email offline_access") -> Flask:
    """A relying app for the provider realm at ``issuer``. A public client has no secret."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(16), TESTING=True, SERVER_NAME="localhost")
    oauth = OAuth(app)
    oauth.register(
        "idp",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic" if client_secret else "none",
        },
    )
    app.extensions["rp.oauth"] = oauth

    @app.get("/login")
    def login():
        """Extra query parameters (prompt, max_age, login_hint...) go to the provider."""
        return oauth.idp.authorize_redirect(CALLBACK_URL, **request.args.to_dict())

    @app.get("/callback")
    def callback():
        token = oauth.idp.authorize_access_token()
        userinfo = oauth.idp.userinfo(token=token)
        session["id_token"] = token["id_token"]
        return jsonify(token=token, id_token_claims=dict(token["userinfo"]), userinfo=dict(userinfo))

    @app.get("/logout")
    def logout():
        return oauth.idp.logout_redirect(LOGGED_OUT_URL, id_token_hint=session.get("id_token"))

    @app.get("/logged-out")
    def logged_out():
        oauth.idp.validate_logout_response()
        session.clear()
        return "logged out"

    return app
