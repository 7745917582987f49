"""factors as plug-ins: one authenticators table for every credential, realms list their factors

Revision ID: 9b2d4f6a8c10
Revises: 5c0e1d7a9b3f
Create Date: 2026-12-03 13:30:00

Before: ``authenticators`` held TOTP devices (``secret_encrypted``, ``last_used_step``) and phones
being enrolled through the API (the number encrypted in ``secret_encrypted``), the phone on
record lived on ``users`` (``phone``, ``phone_verified``, ``phone_set_by_admin``), recovery codes
in ``recovery_codes`` (one row per code), and each realm had ``sms_enabled``/``totp_enabled``.

After: one ``authenticators`` row per credential, whatever its kind, with a random string id
and a JSON ``data`` column that only the factor reads (``idp.mfa.<kind>``):

- ``totp``: ``{"secret": <encrypted, unchanged>, "last_used_step": n}``;
- ``sms``: ``{"phone", "verified", "set_by_admin"}``, active for a verified phone or one an
  administrator set (both could log in before), pending otherwise;
- ``recovery``: one row per user, ``{"digests": [...], "used": [index, ...]}`` (the same keyed
  digests, so every code that worked still works, once);

``realms.mfa_factors`` lists the factors a realm offers. Codes in flight (``otp_challenges``,
five minutes) are dropped: the table now says which factor and destination a code is for.
A phone being enrolled through the API is moved only when the instance's encryption key is at
hand (``idp db upgrade`` always has it); otherwise that enrolment must be started again.

Downgrade moves TOTP devices, phones and unused recovery codes back (other kinds of credential
have no place in the old schema and are dropped)."""
import datetime as dt
import json
import secrets

import sqlalchemy as sa
from alembic import op

from idp.models.base import UTCDateTime

revision = '9b2d4f6a8c10'
down_revision = '5c0e1d7a9b3f'
branch_labels = None
depends_on = None


def _new_id() -> str:
    return secrets.token_hex(12)


def _json(value):
    return value if isinstance(value, (dict, list)) or value is None else json.loads(value)


def _decrypt(token):
    """The API's pending phone numbers were encrypted with the instance's key."""
    try:
        from idp.security import decrypt

        return decrypt(token)
    except Exception:  # no app context, or a key that changed: the pending enrolment is dropped
        return None


def _new_authenticators_table(name: str):
    return op.create_table(
        name,
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('activated_at', UTCDateTime(), nullable=True),
        sa.Column('last_used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_authenticators_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_authenticators'),
    )


def _otp_challenges_table(*, new: bool):
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('realm_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('transaction_id', sa.String(length=64), nullable=True),
    ]
    if new:
        columns += [sa.Column('factor', sa.String(length=16), nullable=False),
                    sa.Column('purpose', sa.String(length=16), nullable=False),
                    sa.Column('destination', sa.String(length=320), nullable=False)]
    else:
        columns += [sa.Column('purpose', sa.String(length=16), nullable=False),
                    sa.Column('phone', sa.String(length=32), nullable=False)]
    columns += [
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('code_digest', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('consumed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['realm_id'], ['realms.id'], name='fk_otp_challenges_realm_id_realms', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_otp_challenges_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_otp_challenges'),
    ]
    op.create_table('otp_challenges', *columns)
    op.create_index('ix_otp_challenges_realm_id', 'otp_challenges', ['realm_id'])
    op.create_index('ix_otp_challenges_transaction_id', 'otp_challenges', ['transaction_id'])
    op.create_index('ix_otp_challenges_user_id', 'otp_challenges', ['user_id'])
    op.create_index('ix_otp_challenges_expires_at', 'otp_challenges', ['expires_at'])


def _drop_otp_challenges():
    for index in ('ix_otp_challenges_expires_at', 'ix_otp_challenges_user_id', 'ix_otp_challenges_transaction_id',
                  'ix_otp_challenges_realm_id'):
        op.drop_index(index, table_name='otp_challenges')
    op.drop_table('otp_challenges')


def _drop_column(table: str, column: str) -> None:
    """SQLite (3.35+) drops a plain column in place; a batch rebuild of ``users`` would drop
    the table every other one refers to."""
    op.execute(sa.text(f'ALTER TABLE {table} DROP COLUMN {column}'))


def _t(name, *columns):
    return sa.table(name, *[sa.column(c, t) for c, t in columns])


OLD_AUTHENTICATORS = _t('authenticators', ('id', sa.Integer()), ('user_id', sa.String()), ('kind', sa.String()),
                        ('name', sa.String()), ('state', sa.String()), ('secret_encrypted', sa.Text()),
                        ('last_used_step', sa.Integer()), ('created_at', UTCDateTime()),
                        ('activated_at', UTCDateTime()), ('last_used_at', UTCDateTime()))
OLD_USERS = _t('users', ('id', sa.String()), ('phone', sa.String()), ('phone_verified', sa.Boolean()),
               ('phone_set_by_admin', sa.Boolean()), ('created_at', UTCDateTime()))
OLD_RECOVERY = _t('recovery_codes', ('id', sa.Integer()), ('user_id', sa.String()), ('code_digest', sa.String()),
                  ('created_at', UTCDateTime()), ('used_at', UTCDateTime()))
NEW_AUTHENTICATORS = _t('authenticators', ('user_id', sa.String()), ('kind', sa.String()), ('name', sa.String()),
                        ('state', sa.String()), ('data', sa.JSON()), ('created_at', UTCDateTime()),
                        ('activated_at', UTCDateTime()), ('last_used_at', UTCDateTime()))


def upgrade():
    bind = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    a = OLD_AUTHENTICATORS.c
    for r in bind.execute(sa.select(OLD_AUTHENTICATORS).order_by(a.id)).mappings():
        if r['kind'] == 'totp':
            data = {'secret': r['secret_encrypted'], 'last_used_step': int(r['last_used_step'] or 0)}
        else:
            phone = _decrypt(r['secret_encrypted']) if r['state'] == 'pending' else None
            if not phone:
                continue
            data = {'phone': phone, 'verified': False, 'set_by_admin': False}
        rows.append({'id': _new_id(), 'user_id': r['user_id'], 'kind': r['kind'], 'name': r['name'],
                     'state': r['state'], 'data': data, 'revision': 0, 'created_at': r['created_at'],
                     'activated_at': r['activated_at'], 'last_used_at': r['last_used_at']})
    u = OLD_USERS.c
    for r in bind.execute(sa.select(OLD_USERS).where(u.phone.is_not(None), u.phone != '')).mappings():
        usable = bool(r['phone_verified']) or bool(r['phone_set_by_admin'])
        rows.append({'id': _new_id(), 'user_id': r['id'], 'kind': 'sms', 'name': 'Phone',
                     'state': 'active' if usable else 'pending',
                     'data': {'phone': r['phone'], 'verified': bool(r['phone_verified']),
                              'set_by_admin': bool(r['phone_set_by_admin'])},
                     'revision': 0, 'created_at': r['created_at'] or now,
                     'activated_at': (r['created_at'] or now) if usable else None, 'last_used_at': None})
    sets: dict[str, dict] = {}
    c = OLD_RECOVERY.c
    for r in bind.execute(sa.select(OLD_RECOVERY).order_by(c.user_id, c.id)).mappings():
        entry = sets.setdefault(r['user_id'], {'digests': [], 'used': [], 'created_at': r['created_at'],
                                               'last_used_at': None})
        if r['used_at'] is not None:
            entry['used'].append(len(entry['digests']))
            entry['last_used_at'] = max(filter(None, [entry['last_used_at'], r['used_at']]))
        entry['digests'].append(r['code_digest'])
    for user_id, entry in sets.items():
        rows.append({'id': _new_id(), 'user_id': user_id, 'kind': 'recovery', 'name': 'Recovery codes',
                     'state': 'active', 'data': {'digests': entry['digests'], 'used': entry['used']}, 'revision': 0,
                     'created_at': entry['created_at'] or now, 'activated_at': entry['created_at'] or now,
                     'last_used_at': entry['last_used_at']})

    op.drop_index('ix_authenticators_user_id', table_name='authenticators')
    op.drop_table('authenticators')
    table = _new_authenticators_table('authenticators')
    op.create_index('ix_authenticators_user_id', 'authenticators', ['user_id'])
    op.create_index('ix_authenticators_created_at', 'authenticators', ['created_at'])
    if rows:
        op.bulk_insert(table, rows)

    op.drop_index('ix_recovery_codes_user_id', table_name='recovery_codes')
    op.drop_index('ix_recovery_codes_code_digest', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    _drop_otp_challenges()
    _otp_challenges_table(new=True)

    # nullable, added in place: a batch rebuild of ``realms`` on SQLite would drop the table
    # and, with it, every user (ON DELETE CASCADE)
    op.add_column('realms', sa.Column('mfa_factors', sa.JSON(), nullable=True))
    realms = sa.table('realms', sa.column('id', sa.Integer()), sa.column('mfa_factors', sa.JSON()))
    for r in bind.execute(sa.text('SELECT id, sms_enabled, totp_enabled FROM realms')).mappings():
        kinds = (['totp'] if r['totp_enabled'] else []) + (['sms'] if r['sms_enabled'] else [])
        bind.execute(realms.update().where(realms.c.id == r['id']).values(mfa_factors=kinds))
    for table_name, column in (('realms', 'sms_enabled'), ('realms', 'totp_enabled'), ('users', 'phone'),
                               ('users', 'phone_verified'), ('users', 'phone_set_by_admin')):
        _drop_column(table_name, column)


def downgrade():
    bind = op.get_bind()
    op.add_column('realms', sa.Column('sms_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('realms', sa.Column('totp_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
    realms = sa.table('realms', sa.column('id', sa.Integer()), sa.column('sms_enabled', sa.Boolean()),
                      sa.column('totp_enabled', sa.Boolean()))
    for r in bind.execute(sa.text('SELECT id, mfa_factors FROM realms')).mappings():
        kinds = _json(r['mfa_factors']) or []
        bind.execute(realms.update().where(realms.c.id == r['id'])
                     .values(sms_enabled='sms' in kinds, totp_enabled='totp' in kinds))
    _drop_column('realms', 'mfa_factors')

    op.add_column('users', sa.Column('phone', sa.String(length=32), nullable=True))
    op.add_column('users', sa.Column('phone_verified', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('users', sa.Column('phone_set_by_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
    users = sa.table('users', sa.column('id', sa.String()), sa.column('phone', sa.String()),
                     sa.column('phone_verified', sa.Boolean()), sa.column('phone_set_by_admin', sa.Boolean()))

    devices, codes = [], []
    for r in bind.execute(sa.select(NEW_AUTHENTICATORS).order_by(NEW_AUTHENTICATORS.c.created_at)).mappings():
        data = _json(r['data']) or {}
        if r['kind'] == 'totp':
            devices.append({'user_id': r['user_id'], 'kind': 'totp', 'name': r['name'], 'state': r['state'],
                            'secret_encrypted': data['secret'], 'last_used_step': data.get('last_used_step', 0),
                            'created_at': r['created_at'], 'activated_at': r['activated_at'],
                            'last_used_at': r['last_used_at']})
        elif r['kind'] == 'sms' and r['state'] == 'active':
            bind.execute(users.update().where(users.c.id == r['user_id']).values(
                phone=data.get('phone'), phone_verified=bool(data.get('verified')),
                phone_set_by_admin=bool(data.get('set_by_admin'))))
        elif r['kind'] == 'recovery':
            used = set(data.get('used', []))
            codes += [{'user_id': r['user_id'], 'code_digest': digest, 'created_at': r['created_at'],
                       'used_at': r['last_used_at'] or r['created_at'] if index in used else None}
                      for index, digest in enumerate(data.get('digests', []))]

    _drop_otp_challenges()
    _otp_challenges_table(new=False)
    recovery = op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('code_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_recovery_codes_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_recovery_codes'),
    )
    op.create_index('ix_recovery_codes_code_digest', 'recovery_codes', ['code_digest'])
    op.create_index('ix_recovery_codes_user_id', 'recovery_codes', ['user_id'])
    if codes:
        op.bulk_insert(recovery, codes)

    op.drop_index('ix_authenticators_created_at', table_name='authenticators')
    op.drop_index('ix_authenticators_user_id', table_name='authenticators')
    op.drop_table('authenticators')
    table = op.create_table(
        'authenticators',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=False),
        sa.Column('last_used_step', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('activated_at', UTCDateTime(), nullable=True),
        sa.Column('last_used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_authenticators_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_authenticators'),
    )
    op.create_index('ix_authenticators_user_id', 'authenticators', ['user_id'])
    if devices:
        op.bulk_insert(table, devices)
