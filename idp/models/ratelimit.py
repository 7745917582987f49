"""Counters of the database-backed rate-limit storage (idp.ratelimit.DatabaseStorage)."""
import sqlalchemy as sa

from ..extensions import db

rate_limit_counters = sa.Table(
    "rate_limit_counters",
    db.metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
