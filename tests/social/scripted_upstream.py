"""A minimal OpenID Connect provider on loopback whose ID-token claims each test chooses: the
hostile (or merely unusual) upstream of the security tests. It speaks the real protocol --
discovery, an authorization endpoint that answers at once with a code, a token endpoint that
checks the code and its PKCE verifier, an RS256-signed ID token and a JWKS -- so our side runs
exactly as it does against any other provider; only the claims are the test's."""
from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server


class ScriptedUpstream:
    client_id = "downstream"
    client_secret = "downstream-secret"

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "scripted-1", "use": "sig", "alg": "RS256"})
        #: The claims of the next ID tokens, beyond iss/aud/exp/iat/nonce; tests change them.
        self.claims = {"sub": "upstream-user-1", "email": "mallory@example.com", "email_verified": True}
        self.codes: dict[str, dict] = {}
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.app = self._build_app()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)

    def _build_app(self) -> Flask:
        app = Flask("scripted_upstream")
        upstream = self

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=upstream.issuer, authorization_endpoint=f"{upstream.issuer}/authorize",
                token_endpoint=f"{upstream.issuer}/token", jwks_uri=f"{upstream.issuer}/jwks",
                response_types_supported=["code"], subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"], code_challenge_methods_supported=["S256"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[upstream.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            args = request.args
            if args.get("client_id") != upstream.client_id:
                abort(400)
            code = secrets.token_urlsafe(16)
            upstream.codes[code] = {"nonce": args.get("nonce"), "challenge": args.get("code_challenge"),
                                    "redirect_uri": args["redirect_uri"]}
            return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/token")
        def token():
            grant = upstream.codes.pop(request.form.get("code", ""), None)
            if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            verifier = request.form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["challenge"]:
                return jsonify(error="invalid_grant"), 400
            now = int(time.time())
            claims = {"iss": upstream.issuer, "aud": upstream.client_id, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], **upstream.claims}
            id_token = jwt.encode({"alg": "RS256", "kid": "scripted-1"}, claims, upstream.key)
            return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300,
                           id_token=id_token)

        return app
