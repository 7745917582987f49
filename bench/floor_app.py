"""The bench's references, served by the same WSGI server and settings as idp (granian as
``deploy/idp.service`` runs it, or ``gunicorn -c deploy/gunicorn.conf.py --pythonpath bench
floor_app:app`` with ``--server gunicorn``):

- ``app``: the ceiling, a bare Flask app answering one fixed JSON document;
- ``signing_app``: the least a client_credentials answer costs in this stack, a bare WSGI
  function (no Flask) that reads the request and answers with one ES256 access token carrying
  the claims idp's carry, signed by joserfc, with no client check and no database. Its rate is
  the most any Python token endpoint under this server could reach, which is what a target
  against node oidc-provider is measured against (``bench/run.py`` prints the ratio)."""
import json
import time
import uuid

from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey

app = Flask(__name__)
DOCUMENT = {"issuer": "http://127.0.0.1/realms/bench", "keys": [{"kty": "EC", "crv": "P-256", "x": "x" * 43, "y": "y" * 43}]}


@app.get("/document")
def document():
    return jsonify(DOCUMENT)


_KEY = ECKey.generate_key("P-256", auto_kid=True)
_ISSUER = "http://127.0.0.1:8000/realms/bench"


def signing_app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    now = int(time.time())
    claims = {"iss": _ISSUER, "sub": "bench", "aud": _ISSUER, "client_id": "bench", "iat": now, "exp": now + 600,
              "jti": uuid.uuid4().hex, "scope": ""}
    token = jwt.encode({"alg": "ES256", "kid": _KEY.kid, "typ": "at+jwt"}, claims, _KEY, algorithms=["ES256"])
    body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 600}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    return [body]
