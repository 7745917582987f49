"""Rate limits (Flask-Limiter) whose counters every worker shares: in Redis when
``redis.url`` is set, otherwise in the database through ``DatabaseStorage`` below.

Limits here are per client IP: on the forms people type into, and on starting a login
(``count_login_transaction``: every login stores a transaction, and anyone may start one).
Per-account limits on second factors live in ``idp.mfa.attempts`` and the SMS caps in
``idp.mfa.sms``."""
from __future__ import annotations

import ipaddress
import math
import time

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage

from .models.ratelimit import rate_limit_counters


class DatabaseStorage(Storage):
    """Fixed-window counters in a table of the provider's own database (SQLite or PostgreSQL):
    one atomic upsert per hit, so several workers and machines count together."""

    STORAGE_SCHEME = ["idp+db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = sa.create_engine(options["database_url"], pool_pre_ping=True)

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    def _insert(self):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(rate_limit_counters)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = rate_limit_counters
        statement = self._insert().values(key=key, count=amount, expires_at=now + expiry)
        expired = table.c.expires_at < now
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": sa.case((expired, amount), else_=table.c.count + amount),
                "expires_at": sa.case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with self.engine.begin() as conn:
            return conn.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        table = rate_limit_counters
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table.c.count, table.c.expires_at).where(table.c.key == key)).first()
        if row is None or row.expires_at < time.time():
            return 0
        return row.count

    def get_expiry(self, key: str) -> float:
        table = rate_limit_counters
        with self.engine.connect() as conn:
            expires = conn.execute(sa.select(table.c.expires_at).where(table.c.key == key)).scalar()
        return expires if expires is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(sa.delete(rate_limit_counters)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(rate_limit_counters).where(rate_limit_counters.c.key == key))


def _client_network_key() -> str:
    return client_network()


#: Every per-IP limit counts the client's network (``client_network``): an IPv4 address or an
#: IPv6 /64.
limiter = Limiter(key_func=_client_network_key, headers_enabled=False, strategy="fixed-window")


def retry_after_on_refusal(response):
    """``Retry-After`` on an answer the per-IP limits refused (429). Only there: Flask-Limiter's
    ``X-RateLimit-*`` headers on every limited answer cost two storage round trips per form post
    (its window's count and expiry), and a browser reads none of them."""
    if response.status_code == 429 and "Retry-After" not in response.headers and limiter.enabled:
        current = limiter.current_limit
        if current is not None:
            try:
                response.headers["Retry-After"] = str(max(1, math.ceil(current.reset_at - time.time())))
            except Exception:  # noqa: BLE001 - the storage failed: the 429 stands without the hint
                pass
    return response

UNLIMITED_BLUEPRINTS = frozenset({"oidc", "oidc_metadata"})


#: Blueprints whose only per-IP limits are on form posts (``limit_form_posts``).
_FORM_POST_BLUEPRINTS: set[str] = set()


@limiter.request_filter
def _protocol_endpoint() -> bool:
    """The protocol endpoints carry no per-IP limit (clients authenticate with long random
    secrets, and one limit per IP would throttle every app behind a shared NAT). Saying so up
    front spares them Flask-Limiter's per-request resolution of limits, a fifth of the cost of
    a discovery request. So are the pages of blueprints whose limits count form posts only (a
    login's pages: a tenth of the cost of showing one)."""
    blueprint = request.blueprint
    return blueprint in UNLIMITED_BLUEPRINTS or (request.method != "POST" and blueprint in _FORM_POST_BLUEPRINTS)


def form_limits() -> str:
    """Per-IP limits on the hosted forms (config ``security.form_rate_limit``)."""
    from flask import current_app

    return current_app.extensions["idp.settings"].security.form_rate_limit


#: Forms whose posts count against ``form_limits`` only when they fail: where people type a
#: password or a second-factor code. Counting their successes would lock a whole office behind
#: one NAT out after 30 logins a minute; guessing is still limited (and limited per account:
#: ``idp.services.password_attempts``, ``idp.mfa.attempts``). Every other form (those that send
#: mail, texts or create rows) counts every post, before it runs.
FAILURES_COUNTED_ENDPOINTS = frozenset({"login.login", "mfa.verify", "mfa.setup"})


def mark_form_success() -> None:
    """The view accepted what was typed (a password, a code): this post does not count against
    the per-IP limit of a form in ``FAILURES_COUNTED_ENDPOINTS`` (or a ``limit_failed_attempts``
    view)."""
    if has_request_context():
        g.idp_form_succeeded = True


def _counts_failures_only() -> bool:
    return request.endpoint in FAILURES_COUNTED_ENDPOINTS


def _counts_every_post() -> bool:
    return request.endpoint not in FAILURES_COUNTED_ENDPOINTS


def _attempt_failed(response) -> bool:
    """Counted after the response: a post its view did not mark as a success. An answer of 500
    or more (the database or Redis unreachable) checked nothing, and counting it would need the
    storage that just failed."""
    return not g.get("idp_form_succeeded") and response.status_code < 500


def limit_form_posts(blueprint) -> None:
    """Per-IP limits on the blueprint's form posts, one count per form. A form that counts only
    failures is checked before it runs and counted after, when its view did not mark success.
    Nothing else of the blueprint may be limited: its other requests skip the limiter."""
    _FORM_POST_BLUEPRINTS.add(blueprint.name)
    limiter.limit(form_limits, methods=["POST"], exempt_when=_counts_failures_only)(blueprint)
    limiter.limit(form_limits, methods=["POST"], exempt_when=_counts_every_post, deduct_when=_attempt_failed)(blueprint)


def limit_failed_attempts(view):
    """The same per-IP limits on one view that takes a password or a code (the direct-login
    API), counting only the calls that did not mark success."""
    return limiter.limit(form_limits, deduct_when=_attempt_failed)(view)


class LoginTransactionLimitExceeded(Exception):
    """Too many logins were started from the caller's network; try again in ``retry_after`` s."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many login transactions; retry after {retry_after} s")
        self.retry_after = retry_after


def client_network() -> str:
    """Whom a per-IP counter counts: the client's IPv4 address, or the /64 of an IPv6 one (a
    single subscriber usually holds a whole /64, so counting addresses would give one caller
    2^64 budgets)."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def parse_limits(name: str, value: str) -> list:
    """A rate-limit setting in Flask-Limiter's syntax ("" for none); a value that does not parse
    stops start-up, naming the setting."""
    from limits import parse_many

    from .config import ConfigError

    value = value.strip()
    if not value:
        return []
    try:
        return parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}: not a rate limit: {value!r} "
                          '(write it like "120 per minute; 1200 per hour")') from None


def parse_login_transaction_limits(settings) -> list:
    """``security.login_transaction_rate_limit``."""
    return parse_limits("security.login_transaction_rate_limit", settings.security.login_transaction_rate_limit)


def count_login_transaction() -> None:
    """Count a login about to be started against the caller's network, wherever logins start
    (``/authorize``, the account page, the console, the direct-login API); raise
    ``LoginTransactionLimitExceeded`` before anything is stored when over the limit."""
    from flask import current_app

    items = current_app.extensions.get("idp.login_transaction_limits") or []
    if not items or not limiter.enabled:
        return
    network = client_network()
    strategy = limiter.limiter
    for item in items:
        if not strategy.hit(item, "login-transactions", network):
            reset_at, _remaining = strategy.get_window_stats(item, "login-transactions", network)
            raise LoginTransactionLimitExceeded(max(1, math.ceil(reset_at - time.time())))


def init_limiter(app, settings) -> None:
    app.extensions["idp.login_transaction_limits"] = parse_login_transaction_limits(settings)
    app.extensions["idp.dpop_public_client_limits"] = parse_limits(
        "tokens.dpop_public_client_rate_limit", settings.tokens.dpop_public_client_rate_limit)
    if settings.redis.url:
        app.config["RATELIMIT_STORAGE_URI"] = settings.redis.url
    else:
        app.config["RATELIMIT_STORAGE_URI"] = "idp+db://"
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"database_url": app.config["SQLALCHEMY_DATABASE_URI"]}
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.after_request(retry_after_on_refusal)


#: Mails a stranger can make us send to one address (reset links, "someone tried to register",
#: the upstream address check): at most one per cool-down and this many a day, whatever the
#: cool-down, so nobody can flood an inbox from here.
MAIL_PER_ADDRESS_PER_DAY = 10


def may_mail(kind: str, key: str, *, cooldown: int) -> bool:
    """Claim one mail of ``kind`` to ``key`` (an address's digest, or an account id): False
    when one went within ``cooldown`` seconds or ``MAIL_PER_ADDRESS_PER_DAY`` went today.
    Counted atomically in the shared storage, so two workers asked at once send one mail."""
    from limits import RateLimitItemPerDay, RateLimitItemPerSecond

    if not limiter.enabled:
        return True
    return (limiter.limiter.hit(RateLimitItemPerSecond(1, cooldown), kind, key)
            and limiter.limiter.hit(RateLimitItemPerDay(MAIL_PER_ADDRESS_PER_DAY), kind, key))
