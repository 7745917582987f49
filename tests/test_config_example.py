"""config.example.toml is the operator's reference: it must load, name every key with its
default, and explain each one."""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from idp.config import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _sections():
    settings = Settings()
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def test_operator_can_start_from_the_example_config_unchanged():
    assert load_settings(EXAMPLE, environ={}) == Settings()


@pytest.mark.parametrize("section", sorted(_sections()))
def test_example_config_lists_every_key_of_the_section_with_its_default(section):
    data = tomllib.loads(EXAMPLE.read_text())
    assert section in data, f"[{section}] is missing from {EXAMPLE.name}"
    expected = dataclasses.asdict(_sections()[section])
    assert data[section] == expected


def test_every_key_in_the_example_config_has_a_comment_above_it():
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "[")):
            assert lines[number - 1].lstrip().startswith("#"), f"line {number + 1} has no comment: {line}"
