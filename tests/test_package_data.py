"""Everything the package needs at run time ships in the wheel.

A factor, grant or stage folder may carry templates and translations beside its code; the wheel
only carries what ``[tool.setuptools.package-data]`` names. Checked here against the tracked files
(cheap, runs with every test run); ``.ci/installed_wheel.py`` builds the real wheel and runs a login
from it.
"""
from __future__ import annotations

import glob
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = {"babel.cfg"}  # extraction settings, read only by the translators' tools


def tracked_data_files() -> list[str]:
    try:
        listing = subprocess.run(["git", "ls-files", "idp"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [path for path in listing.stdout.split()
            if not path.endswith(".py") and Path(path).name not in NOT_SHIPPED]


def test_every_tracked_data_file_under_the_package_is_named_by_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["idp"]
    shipped = {Path(match).relative_to(ROOT).as_posix()
               for pattern in patterns
               for match in glob.glob(str(ROOT / "idp" / pattern), recursive=True)}
    missing = [path for path in tracked_data_files() if path not in shipped]
    assert not missing, f"the wheel would lack: {missing}"


def test_the_sms_factor_pages_are_among_them():
    assert "idp/mfa/sms/templates/verify.html" in tracked_data_files()
