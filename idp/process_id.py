"""This process's id without a system call. ``os.getpid()`` is one, and the hot paths ask on
every request whether they still run in the process that opened their connections or started
their caches (a worker forked from a preloading master must not use its parent's): read
``process_id.current`` instead, kept current across ``os.fork`` by an at-fork hook."""
from __future__ import annotations

import os

current = os.getpid()


def _after_fork_in_child() -> None:
    global current
    current = os.getpid()


os.register_at_fork(after_in_child=_after_fork_in_child)
