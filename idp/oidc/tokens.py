"""Token issuance and lookup: JWT access tokens (RFC 9068, ES256), refresh tokens kept as
keyed digests with rotation families. How the user authenticated (auth_time, amr, acr, sid)
comes with the grant's user (``idp.oidc.authentication``)."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, fields

import sqlalchemy as sa
from flask import current_app, g
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..database import DirectStatement, commit_keeping_loaded_state, direct_connection
from ..extensions import db
from ..models import AuthorizationCode, IssuedToken, Membership, User, utcnow
from ..models.tokens import TokenRules
from ..security import keyed_digest, random_token
from ..services.clients import find_client
from ..services.keys import ACCESS_TOKEN_ALGORITHM, sign_jwt, verify_jwt
from ..services.lookup_cache import cached
from ..services.sign_out import revoke_tokens_where, revoke_user_tokens  # noqa: F401 (their old home)
from .authentication import authentication_of
from .claims import authorization_claims
from .issuer import realm_issuer


def _settings():
    return current_app.extensions["idp.settings"]


def in_realm(realm, row):
    """``row`` if it belongs to ``realm``, else None: for the rows looked up by a key that is unique
    across realms (a token's digest or ``jti``, a code's or a session cookie's digest, a
    ``client_id``).

    Those lookups name only that key in their ``WHERE`` clause and check the realm here. With
    the realm's column there as well, PostgreSQL's generic plan for the prepared statement
    (psycopg prepares a statement on its fifth run), made while the table was small, chose the
    realm's index and filtered every row of the realm: in issue 17's benchmark PostgreSQL's CPU
    per refresh grew from 0.5 to 2.2 ms over 20,000 refreshes
    (``tests/oidc/test_unique_key_lookups.py``)."""
    return row if row is not None and row.realm_id == realm.id else None


def access_token_lifetime(realm) -> int:
    return realm.access_token_lifetime or _settings().tokens.access_token_lifetime


def id_token_lifetime(realm) -> int:
    return realm.id_token_lifetime or _settings().tokens.id_token_lifetime


def refresh_token_lifetime(realm) -> int:
    return realm.refresh_token_lifetime or _settings().tokens.refresh_token_lifetime


def generate_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True,
                   dpop_jkt=None):
    """Authlib token generator: a signed JWT access token and, for a user who granted
    ``offline_access``, an opaque refresh token.

    A refresh token keeps an app in the user's account after the browser session ends, which is
    what ``offline_access`` asks the user for (OpenID Connect Core §11); an app that did not ask
    gets none. A refresh whose narrowed scope drops ``offline_access`` ends the rotation
    family."""
    realm = g.realm
    lifetime = expires_in or access_token_lifetime(realm)
    context = authentication_of(user)
    issuer = realm_issuer(realm)
    claims = stamp({
        "iss": issuer,
        "sub": user.get_user_id() if user else client.get_client_id(),
        "aud": issuer,
        "client_id": client.get_client_id(),
        "iat": None,
        "exp": None,
        "jti": None,
        "scope": scope or "",
    }, lifetime)
    for name in ("auth_time", "acr", "amr", "sid"):
        if getattr(context, name):
            claims[name] = getattr(context, name)
    if user is not None:
        claims.update(authorization_claims(getattr(user, "user", user), scope or "",
                                           organization_id=context.organization_id))
    if dpop_jkt:
        claims["cnf"] = {"jkt": dpop_jkt}
    if context.audience:
        claims["aud"] = context.audience[0] if len(context.audience) == 1 else list(context.audience)
    if context.act:
        claims["act"] = context.act
    token = {
        "token_type": "DPoP" if dpop_jkt else "Bearer",
        "access_token": sign_jwt(realm, claims, alg=ACCESS_TOKEN_ALGORITHM, typ="at+jwt"),
        "expires_in": lifetime,
        "scope": scope or "",
    }
    if include_refresh_token and user is not None and "offline_access" in (scope or "").split():
        token["refresh_token"] = "rt_" + random_token(32)
    return token


def stamp(claims: dict, lifetime: int) -> dict:
    """``claims`` with this moment's ``iat`` and ``exp`` and a new ``jti``: the only claims in
    which two access tokens issued for the same grant differ. A client_credentials answer is
    otherwise the same for one client and scope until a row it was made from changes, and is
    answered from a prepared copy (``idp.oidc.express.prepared``), re-stamped here."""
    now = int(time.time())
    claims["iat"] = now
    claims["exp"] = now + lifetime
    claims["jti"] = secrets.token_hex(16)  # 32 hex digits like uuid4().hex, at a third of its cost
    return claims


def unverified_claims(jwt_string: str) -> dict:
    payload = jwt_string.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def save_token(token: dict, request) -> IssuedToken | None:
    """Keep a row for a token issued to a user: it carries the refresh token, the rotation
    family and what revocation and introspection need. A client_credentials token gets no row:
    it is self-contained (``find_by_access_token`` rebuilds it from its verified claims), and a
    row appears only if the token is revoked, so the token endpoint writes nothing for it."""
    if request.user is None:
        return None
    row = IssuedToken(**_row_values(token, request))
    db.session.add(row)
    commit_keeping_loaded_state()
    return row


def _row_values(token: dict, request) -> dict:
    """The columns of the row that keeps ``token`` (issued to ``request.user``)."""
    realm = g.realm
    context = authentication_of(request.user)
    claims = unverified_claims(token["access_token"])
    now = utcnow()
    values = dict(
        realm_id=realm.id,
        client_id=request.client.get_client_id(),
        user_id=request.user.get_user_id(),
        scope=token.get("scope", ""),
        access_jti=claims["jti"],
        access_expires_at=now + dt.timedelta(seconds=token["expires_in"]),
        family_id=context.family_id or uuid.uuid4().hex,
        authorization_code_id=context.authorization_code_id,
        session_sid=context.sid,
        auth_time=context.auth_time,
        amr=list(context.amr or []),
        acr=context.acr,
        organization_id=context.organization_id,
        issued_at=now,
        dpop_jkt=(claims.get("cnf") or {}).get("jkt"),
        act=context.act,
        audience=list(context.audience) if context.audience else None,
        refresh_digest=None,
        refresh_expires_at=None,
    )
    refresh = token.get("refresh_token")
    if refresh:
        values["refresh_digest"] = keyed_digest(refresh)
        values["refresh_expires_at"] = now + dt.timedelta(seconds=refresh_token_lifetime(realm))
    return values


@dataclass(frozen=True)
class TokenUser:
    """The user of a token as the statement that read the token read them, for the requests that
    use a token without loading its user: the claims of the profile and email scopes
    (``claims.user_claims``; roles and organizations are read by ``id``) and whether the user
    may still use the token."""

    id: str
    name: str | None
    email: str
    email_verified: bool
    disabled: bool

    def get_user_id(self) -> str:
        return self.id

    @classmethod
    def of(cls, row) -> TokenUser:
        """From a row that selected ``TOKEN_USER_COLUMNS`` (with the token's ``user_id``)."""
        return cls(row.user_id, row.user_name, row.user_email, bool(row.user_email_verified), bool(row.user_disabled))


def _token_user_columns():
    users = User.__table__
    return (users.c.name.label("user_name"), users.c.email.label("user_email"),
            users.c.email_verified.label("user_email_verified"), users.c.disabled.label("user_disabled"))


#: The user's columns a statement selects for ``TokenUser.of``, joined on the token's ``user_id``.
TOKEN_USER_COLUMNS = _token_user_columns()


@dataclass(frozen=True)
class PresentedRefreshToken(TokenRules):
    """The row of a presented refresh token, with its user: the columns the refresh grant judges
    and the new tokens carry, read by one statement
    (``presented_refresh_token``). Loading the ORM row and its user cost more than the statement
    itself (issue 17's profile of the refresh); nothing here is kept beyond the request."""

    id: int
    realm_id: int
    client_id: str
    user_id: str
    scope: str
    family_id: str
    session_sid: str | None
    auth_time: int | None
    amr: list | None
    acr: str | None
    organization_id: str | None
    dpop_jkt: str | None
    refresh_used_at: dt.datetime | None
    refresh_expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    #: The user is still a member of the organization the login was for (False without one).
    organization_member: bool
    user: TokenUser


#: The token columns of a ``PresentedRefreshToken`` taken as read (``scope`` is "" when NULL).
_PRESENTED_COLUMNS = ("id", "realm_id", "client_id", "user_id", "family_id", "session_sid", "auth_time", "amr", "acr",
                      "organization_id", "dpop_jkt", "refresh_used_at", "refresh_expires_at", "revoked_at")


def _presented_refresh_token_statement() -> DirectStatement:
    tokens_table, users, memberships = IssuedToken.__table__, User.__table__, Membership.__table__
    columns = [tokens_table.c[name] for name in (*_PRESENTED_COLUMNS, "scope")]
    organization_member = sa.exists().where(memberships.c.organization_id == tokens_table.c.organization_id,
                                            memberships.c.user_id == tokens_table.c.user_id)
    return DirectStatement(
        sa.select(*columns, organization_member.label("organization_member"), *TOKEN_USER_COLUMNS)
        .join_from(tokens_table, users, tokens_table.c.user_id == users.c.id)
        .where(tokens_table.c.refresh_digest == sa.bindparam("digest"))  # the realm: ``in_realm``
    )


_PRESENTED_REFRESH_TOKEN = _presented_refresh_token_statement()


def presented_refresh_token(realm, refresh_token: str) -> PresentedRefreshToken | None:
    """The row of a refresh token of a user, whatever its state (the grant judges it), or None;
    read outside the request's session and any transaction (``database.DirectStatement``)."""
    row = in_realm(realm, _PRESENTED_REFRESH_TOKEN.first(db.engine, {"digest": keyed_digest(refresh_token)}))
    if row is None:
        return None
    return PresentedRefreshToken(**{name: getattr(row, name) for name in _PRESENTED_COLUMNS}, scope=row.scope or "",
                                 organization_member=bool(row.organization_member), user=TokenUser.of(row))


def rotate_refresh_token(old: PresentedRefreshToken, token: dict, request) -> bool:
    """Spend the refresh token of ``old`` and keep the row of ``token``, its replacement, in one
    transaction; False (and nothing written) when ``old`` can no longer be spent: another
    request spent it first, or since it was read it was revoked, it expired, its user was
    disabled or left the organization the login was for.

    The claim re-checks everything that makes a refresh token usable, so what the grant read
    before (outside any transaction) only shaped the new token. On PostgreSQL claim and insert
    are one statement (``WITH claimed AS (UPDATE ... RETURNING) INSERT ... SELECT FROM
    claimed``), committed on its own: the whole rotation costs that round trip. A request racing
    with the same token waits for the row lock, then finds the token spent and inserts
    nothing. SQLite, which has no data-modifying ``WITH``, runs the claim and then the insert in
    one transaction. Either way outside the request's session (``database.DirectStatement``),
    as the read before it.

    Once committed, the request cannot be started over (it would find its token spent, a
    reuse): ``g.grant_spent`` says so to ``idp.oidc.express``."""
    values = _row_values(token, request)
    parameters = {"old_id": old.id, "now": utcnow(), **{f"new_{name}": value for name, value in values.items()}}
    engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    claim, replacement = _rotation_statements(postgres, bool(old.organization_id), tuple(values))
    # Set before the statement runs: on PostgreSQL it commits as it runs, and a failure after that
    # (a connection lost before the answer) must not be started over as if nothing happened.
    g.grant_spent = True
    with direct_connection(engine) as connection:
        if postgres:
            rotated = replacement.first_on(connection, parameters) is not None
        else:
            rotated = claim.run_on(connection, parameters) == 1
            if rotated:
                replacement.run_on(connection, parameters)
    if not rotated:
        g.grant_spent = False
    return rotated


@functools.cache
def _rotation_statements(postgres: bool, organization: bool, columns: tuple[str, ...]):
    """The claim and the insert of ``rotate_refresh_token``, built once (a statement built per
    request costs more than the database takes to run it); on PostgreSQL the insert includes
    the claim. ``organization``: the login was for an organization, which the user must still
    be a member of."""
    table, users, memberships = IssuedToken.__table__, User.__table__, Membership.__table__
    claim = (
        db.update(table)
        .where(table.c.id == db.bindparam("old_id"), table.c.refresh_used_at.is_(None),
               table.c.revoked_at.is_(None), table.c.refresh_expires_at > db.bindparam("now"))
        .where(db.exists().where(users.c.id == table.c.user_id, users.c.disabled.is_(False)))
        .values(refresh_used_at=db.bindparam("now"))
    )
    if organization:
        claim = claim.where(db.exists().where(memberships.c.organization_id == table.c.organization_id,
                                              memberships.c.user_id == table.c.user_id))
    new_values = [db.bindparam(f"new_{name}", type_=table.c[name].type) for name in columns]
    if not postgres:
        return DirectStatement(claim), DirectStatement(db.insert(table).values(dict(zip(columns, new_values))))
    claimed = claim.returning(table.c.id).cte("claimed")
    replacement = (db.insert(table)
                   .from_select(list(columns), db.select(*new_values).select_from(claimed))
                   .add_cte(claimed)
                   .returning(table.c.id))
    return DirectStatement(claim), DirectStatement(replacement)


# Built once: building a select with its options costs more than running it (issue 17's profile
# of userinfo and introspection); each call only binds its values.
# The realm is checked on the row (``in_realm``).
_TOKEN_BY_REFRESH_DIGEST = (
    sa.select(IssuedToken)
    .where(IssuedToken.refresh_digest == sa.bindparam("digest"))
    .options(joinedload(IssuedToken.user))
)
_TOKEN_BY_ACCESS_JTI = (
    sa.select(IssuedToken)
    .where(IssuedToken.access_jti == sa.bindparam("jti"))
    .options(joinedload(IssuedToken.user))
)


def find_by_refresh_token(realm, refresh_token: str, *, reload: bool = False) -> IssuedToken | None:
    """The row with its user (every caller checks the user next), in one round trip;
    ``reload``: as the database has them now, even if the session holds them already."""
    query = _TOKEN_BY_REFRESH_DIGEST.execution_options(populate_existing=True) if reload else _TOKEN_BY_REFRESH_DIGEST
    return in_realm(realm, db.session.scalar(query, {"digest": keyed_digest(refresh_token)}))


def verified_access_token_claims(realm, access_token: str) -> dict | None:
    """The claims of a JWT access token whose signature one of the realm's published keys
    verifies, or None.

    A resource server presents the same token on every call until it expires, so a verified
    token's claims are kept (``idp.services.lookup_cache``, under the token's keyed digest) until
    its ``exp``, and dropped with everything else when a key or the realm changes: a key taken out
    of the published set stops verifying its tokens on the next request, as without the cache.
    Only the signature check is kept; whether the token is revoked, expired or its user disabled
    is read each time by the caller."""
    def verify():
        try:
            decoded = verify_jwt(realm, _settings(), access_token, algorithms=[ACCESS_TOKEN_ALGORITHM])
        except (JoseError, ValueError):
            return None
        return decoded.claims

    def kept_until(claims) -> float:
        exp = claims.get("exp")
        return exp if isinstance(exp, int) and not isinstance(exp, bool) else 0  # no exp: not kept

    return cached(("verified_access_token", realm.id, keyed_digest(access_token)), verify, valid_until=kept_until,
                  many=True)


def _claims_of_realm_access_token(realm, access_token: str) -> dict | None:
    """The verified claims of a JWT access token this realm issued (signature, ``iss`` and a
    ``jti`` checked), or None."""
    claims = verified_access_token_claims(realm, access_token)
    if claims is None or not claims.get("jti") or claims.get("iss") != realm_issuer(realm):
        return None
    return claims


def find_by_access_token(realm, access_token: str) -> IssuedToken | None:
    """The row of a JWT access token that this realm signed (signature checked), or None."""
    claims = _claims_of_realm_access_token(realm, access_token)
    if claims is None:
        return None
    row = in_realm(realm, db.session.scalar(_TOKEN_BY_ACCESS_JTI, {"jti": claims["jti"]}))
    if row is None and _issued_to_the_client_itself(claims):
        return _client_credentials_token(realm, claims)
    return row


@dataclass(frozen=True)
class TokenSnapshot(TokenRules):
    """An issued token's row and its user's state as one statement read them, for the requests
    that only look at a token: introspection and userinfo. It answers what ``IssuedToken``
    answers (``TokenRules``), so ``RealmIntrospectionEndpoint`` takes either (a client_credentials
    token has no row: ``_client_credentials_token`` builds one)."""

    id: int
    realm_id: int
    client_id: str
    user_id: str | None
    scope: str
    access_jti: str
    access_expires_at: dt.datetime
    refresh_digest: str | None
    refresh_expires_at: dt.datetime | None
    refresh_used_at: dt.datetime | None
    organization_id: str | None
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    dpop_jkt: str | None
    act: dict | None
    audience: list | None
    user: TokenUser | None

    @classmethod
    def of(cls, row) -> TokenSnapshot | None:
        """From a row of ``_snapshot_read`` (the token's columns, then the user's); None for a
        user's token whose user is gone (deleting a user deletes their tokens: never seen)."""
        user = None
        if row.user_id is not None:
            if row.user_row_id is None:
                return None
            user = TokenUser.of(row)
        return cls(*row[:len(SNAPSHOT_COLUMNS)], user=user)


#: The token columns of a ``TokenSnapshot``, in the order of its fields.
SNAPSHOT_COLUMNS = tuple(field.name for field in fields(TokenSnapshot) if field.name != "user")


def _snapshot_read(by_column: str) -> DirectStatement:
    """The statement of ``read_access_token`` (by ``access_jti``) or ``read_refresh_token`` (by
    ``refresh_digest``): the token's row and its user's columns (the realm is checked on the row:
    ``in_realm``). The user's row may be missing (a client_credentials token's deny-list entry
    has none)."""
    tokens_table, users = IssuedToken.__table__, User.__table__
    return DirectStatement(
        sa.select(*(tokens_table.c[name] for name in SNAPSHOT_COLUMNS), users.c.id.label("user_row_id"),
                  *TOKEN_USER_COLUMNS)
        .outerjoin_from(tokens_table, users, tokens_table.c.user_id == users.c.id)
        .where(tokens_table.c[by_column] == sa.bindparam("value"))
    )


_SNAPSHOT_BY_ACCESS_JTI = _snapshot_read("access_jti")
_SNAPSHOT_BY_REFRESH_DIGEST = _snapshot_read("refresh_digest")


def read_access_token(realm, access_token: str) -> TokenSnapshot | IssuedToken | None:
    """What ``find_by_access_token`` finds, for reading only: the token's row with its user's
    state in one statement, outside any transaction (``database.DirectStatement``), or a
    client_credentials token rebuilt from its claims (a transient ``IssuedToken``).

    The signature check comes from the lookup cache (``verified_access_token_claims``); the
    row, which says whether the token was revoked and whether its user may still use it, is
    read every time."""
    claims = _claims_of_realm_access_token(realm, access_token)
    if claims is None:
        return None
    row = in_realm(realm, _SNAPSHOT_BY_ACCESS_JTI.first(db.engine, {"value": claims["jti"]}))
    if row is None:
        return _client_credentials_token(realm, claims) if _issued_to_the_client_itself(claims) else None
    return TokenSnapshot.of(row)


def read_refresh_token(realm, refresh_token: str) -> TokenSnapshot | None:
    """What ``find_by_refresh_token`` finds, for reading only (as ``read_access_token``)."""
    row = in_realm(realm, _SNAPSHOT_BY_REFRESH_DIGEST.first(db.engine, {"value": keyed_digest(refresh_token)}))
    return None if row is None else TokenSnapshot.of(row)


def _issued_to_the_client_itself(claims: dict) -> bool:
    return bool(claims.get("client_id")) and claims.get("sub") == claims["client_id"] and "auth_time" not in claims


def _client_credentials_token(realm, claims: dict) -> IssuedToken | None:
    """A client_credentials token, from its verified claims: a transient row, never added to
    the session (``revoke_client_credentials_token`` persists it). The token lives only as long
    as its client may still use the grant: deleting the client or taking the grant away ends it,
    and a client registered later under the same id does not inherit it."""
    client = find_client(realm, claims["client_id"])
    if client is None or not client.check_grant_type("client_credentials"):
        return None
    issued_at = dt.datetime.fromtimestamp(int(claims.get("iat", 0)), dt.timezone.utc)
    if issued_at < client.created_at.replace(microsecond=0):
        return None  # issued to an earlier client of the same id, since deleted
    return IssuedToken(
        realm_id=realm.id, client_id=client.client_id, user_id=None, scope=claims.get("scope") or "",
        access_jti=claims["jti"], access_expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc),
        family_id=claims["jti"], amr=[], issued_at=issued_at, dpop_jkt=(claims.get("cnf") or {}).get("jkt"),
    )


def revoke_client_credentials_token(token: IssuedToken) -> None:
    """Persist a transient client_credentials token as revoked: its row is the deny-list entry.

    Two requests revoking the same token at once both try to insert its row; the loser's insert
    breaks the unique ``access_jti`` and it starts over on a clean session, the token being
    revoked either way (RFC 7009 answers 200 whatever the token's state)."""
    token.revoked_at = utcnow()
    db.session.add(token)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()


def revoke_family_statement(realm_id: int, family_id: str):
    """The statement of ``revoke_family``, with its values (the ORM updates the session's rows
    from them). A composite index of its two columns matches it (``IssuedToken.__table_args__``)."""
    return (db.update(IssuedToken)
            .where(IssuedToken.realm_id == realm_id, IssuedToken.family_id == family_id)
            .where(IssuedToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()))


def families_of_code_statement(realm_id: int, code_id: int):
    """The statement of ``revoke_tokens_of_code``; matched by a composite index as the one above."""
    return db.select(IssuedToken.family_id).filter_by(realm_id=realm_id, authorization_code_id=code_id)


def revoke_family(realm, family_id: str) -> int:
    return db.session.execute(revoke_family_statement(realm.id, family_id)).rowcount


def revoke_tokens_of_code(realm, code: AuthorizationCode) -> None:
    families = db.session.scalars(families_of_code_statement(realm.id, code.id)).all()
    for family in set(families):
        revoke_family(realm, family)
