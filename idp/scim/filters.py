"""SCIM filters (RFC 7644 §3.4.2.2) on users, as SQL: the filter's tree (parsed by scim2-models)
becomes one SQLAlchemy condition, so that a search over a large realm reads only the page it
returns. An attribute the resource does not have matches nothing, as the RFC says."""
from __future__ import annotations

import unicodedata

from scim2_models import InvalidFilterException
from scim2_models.path import (AttrPath, CompareOperator, Comparison, LogicalExpr, LogicalOperator, Not, Present,
                               ValuePath)
from sqlalchemy import and_, false, func, not_, or_, true

from ..models import User
from ..services.users import email_key


#: The most comparisons one filter may hold: no directory sends more than a few, and SQLite
#: refuses a condition deeper than 1000 terms (which surfaced as a 503).
MAX_FILTER_TERMS = 100


def check_filter_size(node) -> None:
    """``InvalidFilterException`` for a filter of more than ``MAX_FILTER_TERMS`` comparisons."""
    count, pending = 0, [node]
    while pending:
        current = pending.pop()
        if isinstance(current, LogicalExpr):
            pending.extend(current.terms)
        elif isinstance(current, Not):
            pending.append(current.expr)
        elif isinstance(current, ValuePath):
            pending.append(current.val_filter)
        elif current is not None:
            count += 1
    if count > MAX_FILTER_TERMS:
        raise InvalidFilterException(detail=f"A filter may hold at most {MAX_FILTER_TERMS} comparisons")


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


class _Column:
    """How one SCIM attribute reads in SQL: the column, and how a compared value is prepared."""

    def __init__(self, column, *, kind="string", exact=True, equal_value=None, part_value=None):
        self.column = column
        self.kind = kind
        self.exact = exact
        self.equal_value = equal_value
        self.part_value = part_value


def _email() -> _Column:
    return _Column(User.email_normalized, equal_value=email_key, part_value=_folded)


def _columns() -> dict[str, _Column]:
    return {
        "id": _Column(User.id),
        "username": _email(),
        "emails": _email(),
        "emails.value": _email(),
        "externalid": _Column(User.external_id),
        "displayname": _Column(func.lower(User.name), equal_value=str.lower, part_value=str.lower),
        "active": _Column(not_(User.disabled), kind="boolean"),
        "meta.created": _Column(User.created_at, kind="datetime"),
    }


def _column(attr_path: AttrPath, parent: str | None = None) -> _Column | None:
    name = attr_path.attr.lower()
    if parent:
        name = f"{parent}.{name}"
    if attr_path.sub_attr:
        name = f"{name}.{attr_path.sub_attr.lower()}"
    return _columns().get(name)


def _compare(node: Comparison, parent: str | None):
    column = _column(node.attr_path, parent)
    value = node.value
    if column is None:
        if parent == "emails" and node.attr_path.attr.lower() == "type" and node.op == CompareOperator.eq:
            return true() if str(value).lower() == "work" else false()
        if parent == "emails" and node.attr_path.attr.lower() == "primary" and node.op == CompareOperator.eq:
            return true() if value is True else false()
        return false()
    if column.kind == "boolean":
        if not isinstance(value, bool) or node.op not in (CompareOperator.eq, CompareOperator.ne):
            return false()
        condition = column.column if value else not_(column.column)
        return condition if node.op == CompareOperator.eq else not_(condition)
    if column.kind == "datetime":
        import datetime as dt

        try:
            moment = dt.datetime.fromisoformat(str(value))
            value = (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
        except (ValueError, OverflowError):
            return false()
    elif not isinstance(value, str):
        return false()
    col = column.column
    op = node.op
    if op in (CompareOperator.eq, CompareOperator.ne):
        prepared = column.equal_value(value) if column.equal_value else value
        return col == prepared if op == CompareOperator.eq else or_(col != prepared, col.is_(None))
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        if column.kind != "string":
            return false()
        prepared = column.part_value(value) if column.part_value else value
        method = {CompareOperator.co: col.contains, CompareOperator.sw: col.startswith,
                  CompareOperator.ew: col.endswith}[op]
        return method(prepared, autoescape=True)
    prepared = column.part_value(value) if (column.part_value and column.kind == "string") else value
    return {CompareOperator.gt: col > prepared, CompareOperator.ge: col >= prepared,
            CompareOperator.lt: col < prepared, CompareOperator.le: col <= prepared}[op]


def user_condition(node, parent: str | None = None):
    """The SQL condition of a filter tree on ``users`` (``parent`` is the multi-valued
    attribute a value path's inner filter is about, ``emails``)."""
    if node is None:
        return true()
    if isinstance(node, LogicalExpr):
        terms = [user_condition(term, parent) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
    if isinstance(node, Not):
        return not_(user_condition(node.expr, parent))
    if isinstance(node, Present):
        column = _column(node.attr_path, parent)
        if column is None:
            return false()
        return true() if column.kind == "boolean" else column.column.isnot(None)
    if isinstance(node, ValuePath):
        if node.attr_path.attr.lower() != "emails":
            return false()
        return user_condition(node.val_filter, "emails")
    if isinstance(node, Comparison):
        return _compare(node, parent)
    return false()
