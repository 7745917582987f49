"""Process-wide memory settings for a serving worker."""
from __future__ import annotations

import ctypes
import ctypes.util

#: mallopt(3) parameters (glibc's malloc.h).
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3


def bound_malloc() -> None:
    """Keep glibc from holding on to the 19 MiB block of each argon2id hash.

    glibc raises its mmap threshold after such a block is freed, so later ones come from
    per-thread heaps that keep the memory: a worker would grow by 19 MiB per thread. A fixed
    threshold (and few arenas) hands every block back to the system when the hash is done.
    Called by ``deploy/gunicorn.conf.py`` before the workers fork and by ``idp.wsgi`` in every
    process that loads the app (granian's workers load it themselves). Nothing to do on a C
    library without ``mallopt``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_ARENA_MAX, 2)
    mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
