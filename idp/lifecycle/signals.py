"""What the account life cycle tells the packages above it, without importing them (they
subscribe from their ``init_app``).

- ``address_proven``: the owner of ``sender`` (a user) just proved their address, by a password
  reset or by the verification link; keyword ``reason``. Social login removes the links that
  were made without a proven address (``idp.social``)."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

address_proven = _signals.signal("address-proven")
