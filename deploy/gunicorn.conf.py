"""gunicorn settings for idp: `gunicorn -c deploy/gunicorn.conf.py 'idp.wsgi:app'`.

Run `idp db upgrade` first. Workers share nothing in memory: keys, sessions, login transactions
and counters live in the database, and the secrets come from config or environment."""
import multiprocessing
import os

bind = os.environ.get("IDP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("IDP_WORKERS", multiprocessing.cpu_count()))
# Password hashing (argon2id) is CPU-bound; threads add little. Keep one per worker.
threads = 1
timeout = 30
graceful_timeout = 30
keepalive = 5
# Behind a TLS proxy on the same machine; set server.trusted_proxies in idp's config to match.
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
