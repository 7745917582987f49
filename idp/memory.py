"""Process-wide memory settings for a serving worker."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import Mapping

log = logging.getLogger(__name__)

#: mallopt(3) parameters (glibc's malloc.h).
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3

#: The glibc tunable that has malloc ask for transparent huge pages (``madvise``) on the memory it
#: maps. glibc reads ``GLIBC_TUNABLES`` once, when a process starts: it must be in the server's
#: environment (``deploy/idp.service``, ``huge_page_environment``), it cannot be set from Python.
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1"

#: libc's ``malloc_trim``, once ``bound_malloc`` ran in this process (a serving worker).
_malloc_trim = None


def bound_malloc() -> None:
    """Keep glibc from holding on to the 19 MiB block of each argon2id hash.

    glibc raises its mmap threshold after such a block is freed, so later ones come from
    per-thread heaps that keep the memory: a worker would grow by 19 MiB per thread. A fixed
    threshold (and few arenas) hands every block back to the system when the hash is done.
    Called by ``deploy/gunicorn.conf.py`` before the workers fork and by ``idp.wsgi`` in every
    process that loads the app (granian's workers load it themselves). Nothing to do on a C
    library without ``mallopt``.

    The price: each hash maps its block afresh, and the kernel faults it in page by page, 4,864
    faults of 4 KiB, which made a verify cost half again its own CPU (about 25 ms against 17 on
    issue 17's machine, and about 15% fewer logins per second in its bench). With ``HUGE_PAGES_TUNABLE`` in the
    environment the block is faulted in 2 MiB pages and the hash costs what it costs alone, while
    the memory still goes back when it is done; without it this logs a warning."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, 2)
    mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    global _malloc_trim
    _malloc_trim = getattr(libc, "malloc_trim", None)
    if not huge_pages_requested(os.environ):
        _warn_once("GLIBC_TUNABLES does not include %s: each argon2id hash costs about half again its CPU "
                    "in page faults (see 'Which WSGI server' in the README)", HUGE_PAGES_TUNABLE)


def give_back_free_memory() -> None:
    """Return the whole free pages inside malloc's heaps to the system (``malloc_trim``), in a
    worker where ``bound_malloc`` ran; nothing elsewhere (tests, the CLI).

    glibc gives back only the free space at the top of a heap; what a request freed below live
    objects stays resident. Called after each password hash (``idp.security``), once a login,
    where a login's request has just freed what it built: about 0.25 ms. After 10,000 logins of the
    bench, granian's two workers were at 118 and 116 MB with it, 120 and 117 without (one run each)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


@functools.cache
def _warn_once(message: str, *args) -> None:
    log.warning(message, *args)


def huge_pages_requested(environ: Mapping[str, str]) -> bool:
    """``GLIBC_TUNABLES`` asks for huge pages: transparent ones (1) or hugetlbfs's (2)."""
    return bool({"glibc.malloc.hugetlb=1", "glibc.malloc.hugetlb=2"} & set(_tunables(environ)))


def huge_page_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``HUGE_PAGES_TUNABLE`` added to the tunables it sets already, unless it
    sets ``glibc.malloc.hugetlb`` itself: the environment to start a server with (``bench/run.py``)."""
    environ = dict(environ)
    if not any(item.startswith("glibc.malloc.hugetlb=") for item in _tunables(environ)):
        environ["GLIBC_TUNABLES"] = ":".join(filter(None, [environ.get("GLIBC_TUNABLES"), HUGE_PAGES_TUNABLE]))
    return environ


def _tunables(environ: Mapping[str, str]) -> list[str]:
    return [item.strip() for item in environ.get("GLIBC_TUNABLES", "").split(":") if item.strip()]
