"""The server's periodic chore: purging expired rows (``idp.services.purge``) every
``maintenance.purge_interval`` seconds (0 turns it off; ``idp purge`` runs it by hand).

No scheduler process: after a request, each worker compares its clock with the next time it
should look (nothing more on the request's time). At most once per interval it starts a
background thread, which claims the interval in the shared rate-limit storage (Redis, or the
database: a fixed-window counter of one hit, which exactly one claimant per window gets) and
purges only if its claim won. So among all workers and machines one purge runs per interval; an
idle server purges at its next request. A failure is logged and the next interval tries again;
it never reaches the request that started the thread.

With Flask-Limiter switched off (``RATELIMIT_ENABLED = False``, which only tests do) there is no
shared storage and each process purges once per interval on its own."""
from __future__ import annotations

import threading
import time

from flask import current_app



class PeriodicPurge:
    """One per app (``app.extensions["idp.periodic_purge"]``); ``thread`` is its last run, for
    tests to wait on."""

    def __init__(self, interval: int):
        self.interval = interval
        self.thread: threading.Thread | None = None
        self._next_look = 0.0
        self._lock = threading.Lock()

    def after_request(self, response, app=None):
        """``app``: for a caller outside an app context (``idp.oidc.express.prepared``)."""
        now = time.monotonic()
        if now < self._next_look:
            return response
        with self._lock:
            if now < self._next_look or (self.thread is not None and self.thread.is_alive()):
                return response
            self._next_look = now + self.interval
        if app is None:
            app = current_app._get_current_object()
        self.thread = threading.Thread(target=self.run, args=(app,), name="idp-purge", daemon=True)
        self.thread.start()
        return response

    def run(self, app) -> dict | None:
        """Purge if this process wins the current interval; the counts, or None."""
        from .extensions import db
        from .services.purge import purge_expired

        with app.app_context():
            try:
                if not self.claim_interval():
                    return None
                deleted = purge_expired(app.extensions["idp.settings"])
                app.logger.info("purge: deleted %s", ", ".join(f"{n} {t}" for t, n in deleted.items() if n) or "nothing")
                return deleted
            except Exception:  # a background job has nobody else to report to
                db.session.rollback()
                app.logger.exception("periodic purge failed; the next interval tries again")
                return None
            finally:
                db.session.remove()

    def claim_interval(self) -> bool:
        """Take this interval's slot for the database being purged (keyed by its URL without the
        password: two deployments sharing one Redis each purge their own database)."""
        import hashlib

        from limits import RateLimitItemPerSecond

        from .extensions import db
        from .ratelimit import limiter

        if not limiter.enabled:
            return True
        database = hashlib.sha256(db.engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
        return limiter.limiter.hit(RateLimitItemPerSecond(1, self.interval), "idp-purge", database)


def init_app(app, settings) -> None:
    from .services.purge import check_retention_settings

    check_retention_settings(settings)
    interval = settings.maintenance.purge_interval
    if interval > 0:
        periodic = PeriodicPurge(interval)
        app.extensions["idp.periodic_purge"] = periodic
        app.after_request(periodic.after_request)
