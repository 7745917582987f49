"""A server process carries what logins and tokens need, and not the libraries that only some
deployments or some requests use: those load where they are first needed (the SCIM endpoints,
passkey ceremonies, a TOTP QR code, phone numbers, logins at an upstream, migrations). Each
weighs megabytes in every worker (``python bench/run.py`` reports the workers' size)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp.memory import HUGE_PAGES_TUNABLE, huge_page_environment

ROOT = Path(__file__).resolve().parents[1]
LOADED_WHERE_USED = ("alembic", "flask_migrate", "scim2_models", "scim2_server", "scim2_flask", "pydantic",
                     "webauthn", "qrcode", "phonenumbers", "twilio", "requests", "urllib3")

APP_MODULES = """
import json, sys
from idp import create_app
create_app(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def test_creating_the_app_loads_none_of_the_libraries_few_requests_use(tmp_path):
    result = subprocess.run([sys.executable, "-c", APP_MODULES, str(tmp_path / "instance")], capture_output=True,
                            text=True, cwd=ROOT, timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    assert "idp.scim.routes" in modules and "idp.mfa.webauthn" in modules, "the endpoints and factors are there"
    assert sorted(m for m in modules if m.split(".")[0] in LOADED_WHERE_USED) == []


ARGON2_PAGE_FAULTS = """
import json, resource, sys
from argon2 import PasswordHasher
from idp.memory import bound_malloc
bound_malloc()
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
hashed = hasher.hash("a password")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    hasher.verify(hashed, "a password")
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10))
"""


def _transparent_huge_pages_mode() -> str | None:
    """The kernel's transparent huge pages setting (``always``, ``madvise``), or None where this
    test cannot use them (``never``, no such setting, or a glibc without ``glibc.malloc.hugetlb``,
    which came with 2.35)."""
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return None
    version = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else ""
    major_minor = tuple(int(part) for part in version.removeprefix("glibc ").split(".")[:2]) if version else ()
    chosen = mode[mode.find("[") + 1:mode.find("]")] if "[" in mode else ""
    return chosen if chosen in ("always", "madvise") and major_minor >= (2, 35) else None


def _page_faults_per_verify(glibc_tunables: str | None) -> tuple[float, str]:
    environ = {"PATH": "/usr/bin:/bin", **({"GLIBC_TUNABLES": glibc_tunables} if glibc_tunables else {})}
    result = subprocess.run([sys.executable, "-c", ARGON2_PAGE_FAULTS], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, check=True, env=environ)
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


@pytest.mark.skipif(_transparent_huge_pages_mode() is None, reason="needs transparent huge pages and glibc 2.35+")
def test_a_workers_argon2id_block_is_faulted_in_huge_pages_when_the_server_asks_for_them():
    """A worker hands each hash's 19 MiB block back to the system (``bound_malloc``), so the next
    hash maps it afresh: 4,864 page faults of 4 KiB, half again the hash's own CPU, where the
    kernel gives huge pages only to memory that asks (``madvise``, Debian's default). The unit's
    ``GLIBC_TUNABLES`` has glibc ask."""
    faults, warnings = _page_faults_per_verify(None)
    assert "GLIBC_TUNABLES does not include glibc.malloc.hugetlb=1" in warnings
    if _transparent_huge_pages_mode() == "madvise":
        assert faults > 4000

    faults, warnings = _page_faults_per_verify(HUGE_PAGES_TUNABLE)
    # 777 measured: the unaligned ends of the block, and any huge page the kernel could not find
    # at once, still come in 4 KiB pages
    assert faults < 3000 and warnings == ""


def test_the_unit_and_the_bench_start_the_server_with_huge_pages():
    assert f"Environment=GLIBC_TUNABLES={HUGE_PAGES_TUNABLE}\n" in (ROOT / "deploy" / "idp.service").read_text()
    assert huge_page_environment({})["GLIBC_TUNABLES"] == HUGE_PAGES_TUNABLE
    assert huge_page_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})["GLIBC_TUNABLES"] == \
        f"glibc.malloc.arena_max=2:{HUGE_PAGES_TUNABLE}"
    assert huge_page_environment({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})["GLIBC_TUNABLES"] == \
        "glibc.malloc.hugetlb=0", "an operator's own choice stays"
