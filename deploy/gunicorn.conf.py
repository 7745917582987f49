"""gunicorn settings for idp: `gunicorn -c deploy/gunicorn.conf.py 'idp.wsgi:app'` (the systemd
unit runs granian; README "Which WSGI server" says when to choose gunicorn instead).

Run `idp db upgrade` first. Workers share nothing in memory: keys, sessions, login transactions
and counters live in the database (or Redis), and the secrets come from config or environment,
so any worker on any machine may serve any step of a login.

Environment: IDP_BIND (127.0.0.1:8000), IDP_WORKERS (one per core), IDP_THREADS (4),
IDP_ACCESS_LOG ("-" for stdout; empty for none); and GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as
deploy/idp.service sets it (glibc reads it at start, so it cannot be set here: ``bound_malloc``
says why it matters and warns without it)."""
import multiprocessing
import os
import sys

from idp.memory import bound_malloc

bind = os.environ.get("IDP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("IDP_WORKERS") or multiprocessing.cpu_count())
# Threads keep connections alive (the sync worker closes each one) and overlap the waits on
# the database; the CPU-bound parts (argon2id releases the GIL) still use one core per worker.
worker_class = "gthread"
threads = int(os.environ.get("IDP_THREADS") or 4)
timeout = 30
graceful_timeout = 30
keepalive = 5
# Build the app once in the master and fork it: workers start fast and share its memory.
# Safe because nothing connects while the app is built, and post_fork drops any pooled
# connection a worker would otherwise inherit.
preload_app = True
# Behind a TLS proxy on the same machine; set server.trusted_proxies in idp's config to match.
forwarded_allow_ips = "127.0.0.1"
accesslog = os.environ.get("IDP_ACCESS_LOG", "-") or None
errorlog = "-"
# gunicorn 25.1+ opens one control socket per user by default; several servers on one machine
# would fight over it, and systemd already controls this one.
control_socket_disable = True


bound_malloc()


def post_fork(server, worker):
    module = sys.modules.get("idp.wsgi")
    if module is not None:
        from idp.database import forget_inherited_connections

        forget_inherited_connections(module.app)
