"""Reading request input with every type checked, so that no value the services do not expect
(a number where a string belongs, a NUL byte, a lone surrogate, a megabyte of text) gets past
the API layer. Bad input becomes a 422 naming each offending field."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask import request

from .errors import ApiError, invalid_fields

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Field:
    """One JSON body field. ``kind`` is "string", "boolean", "integer", "strings" (a list of
    strings) or "object" (a JSON object the service checks, such as a key set). ``nullable``
    accepts null (read as "clear" or "no change" by the caller)."""

    kind: str = "string"
    required: bool = False
    nullable: bool = False
    max_length: int = 200
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None
    max_items: int = 100


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def json_body() -> dict:
    """The request's JSON object; an empty body reads as ``{}``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the request body as application/json.")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    return data


def check_text(value: str, max_length: int) -> str | None:
    """Why ``value`` is not an acceptable string, or None."""
    if len(value) > max_length:
        return f"Must be at most {max_length} characters."
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def _check(field: Field, value):
    if field.kind == "string":
        if not isinstance(value, str):
            return "Must be a string."
        problem = check_text(value, field.max_length)
        if problem:
            return problem
        if field.choices and value not in field.choices:
            return f"Must be one of: {', '.join(field.choices)}."
        return None
    if field.kind == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    if field.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "Must be a whole number."
        if field.minimum is not None and value < field.minimum:
            return f"Must be at least {field.minimum}."
        if field.maximum is not None and value > field.maximum:
            return f"Must be at most {field.maximum}."
        return None
    if field.kind == "strings":
        if not isinstance(value, list) or len(value) > field.max_items:
            return f"Must be a list of at most {field.max_items} strings."
        for item in value:
            if not isinstance(item, str):
                return "Must be a list of strings."
            problem = check_text(item, field.max_length)
            if problem:
                return problem
        return None
    if field.kind == "object":
        return None if isinstance(value, dict) else "Must be a JSON object."
    raise ValueError(f"unknown field kind {field.kind}")


def read_fields(data: dict, spec: dict[str, Field]) -> dict:
    """The fields of ``data`` named in ``spec``, type-checked; fields that are absent are left
    out. Unknown fields are refused, so a typo is an error rather than a silent no-op."""
    errors: dict[str, str] = {}
    values: dict = {}
    for name in data:
        if name not in spec:
            errors[str(name)[:100]] = "Unknown field."
    for name, field in spec.items():
        if name not in data:
            if field.required:
                errors[name] = "This field is required."
            continue
        value = data[name]
        if value is None:
            if field.nullable:
                values[name] = None
            else:
                errors[name] = "This field is required." if field.required else "Must not be null."
            continue
        problem = _check(field, value)
        if problem:
            errors[name] = problem
        else:
            values[name] = value
    if errors:
        raise invalid_fields(errors)
    return values


def body_fields(spec: dict[str, Field]) -> dict:
    return read_fields(json_body(), spec)


def query_text(name: str, *, max_length: int = 200) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    problem = check_text(value, max_length)
    if problem:
        raise invalid_fields({name: problem})
    return value


def query_int(name: str, *, default: int, minimum: int = 0, maximum: int = MAX_ID) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not minimum <= int(value) <= maximum:
        raise invalid_fields({name: f"Must be a whole number from {minimum} to {maximum}."})
    return int(value)


def query_time(name: str) -> dt.datetime | None:
    """An ISO 8601 date-time (a value without an offset is read as UTC)."""
    value = query_text(name, max_length=40)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        raise invalid_fields({name: "Must be an ISO 8601 date-time, such as 2025-01-31T12:00:00Z."}) from None


def path_text(value: str, max_length: int = 320) -> str | None:
    """A path segment fit for a database lookup, or None (which the caller answers with 404)."""
    return value if check_text(value, max_length) is None else None
