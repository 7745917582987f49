"""What a client that signs JWTs holds: its key pairs (one per algorithm it may use), the public
key set it registers, and the JWTs it makes (client assertions, request objects); and a
loopback server that publishes key sets at ``jwks_uri`` URLs, counting its fetches."""
from __future__ import annotations

import json
import secrets
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

ISSUER = "http://localhost/realms/acme"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_key(alg: str, kid: str | None = None):
    kid = kid or f"{alg.lower()}-{secrets.token_hex(4)}"
    if alg in ("RS256", "PS256"):
        return RSAKey.generate_key(2048, parameters={"kid": kid})
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters={"kid": kid})
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters={"kid": kid})
    raise ValueError(alg)


def public_jwks(*keys) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def sign(claims: dict, key, alg: str, **header) -> str:
    header = {"alg": alg, **({"kid": key.kid} if getattr(key, "kid", None) else {}), **header}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
        return jwt.encode(header, claims, key, algorithms=[alg])


def client_assertion(client_id: str, key, alg: str, *, aud=f"{ISSUER}/token", lifetime=60, **claims) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16), **claims}
    return sign({k: v for k, v in body.items() if v is not None}, key, alg)


def secret_key(secret: str) -> OctKey:
    return OctKey.import_key(secret)


def assertion_form(client_id: str, assertion: str, **form) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **form}


def unsigned(claims: dict) -> str:
    import base64

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


class KeyServer:
    """Serves ``documents[path] = (body bytes, headers dict)`` on loopback; ``hits[path]``
    counts the fetches."""

    def __init__(self):
        self.documents: dict[str, tuple[bytes, dict]] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                body, headers = server.documents.get(self.path, (b"not found", {}))
                self.send_response(200 if self.path in server.documents else 404)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, key_set: dict | bytes, headers: dict | None = None) -> str:
        """A new URL serving ``key_set``."""
        path = f"/jwks/{secrets.token_hex(6)}"
        self.put(path, key_set, headers)
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def put(self, path: str, key_set, headers: dict | None = None) -> None:
        body = key_set if isinstance(key_set, bytes) else json.dumps(key_set).encode()
        self.documents[path] = (body, headers or {})

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
