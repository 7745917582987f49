"""The ceiling for discovery and JWKS: a bare Flask app answering one fixed JSON document,
served by the same gunicorn configuration as idp (``gunicorn -c deploy/gunicorn.conf.py
--pythonpath bench floor_app:app``)."""
from flask import Flask, jsonify

app = Flask(__name__)
DOCUMENT = {"issuer": "http://127.0.0.1/realms/bench", "keys": [{"kty": "EC", "crv": "P-256", "x": "x" * 43, "y": "y" * 43}]}


@app.get("/document")
def document():
    return jsonify(DOCUMENT)
