"""The event bus: ``record_event`` writes the audit row and tells every subscriber; the layers
below the subscribers (the bus, the services, the models) import none of them."""
from __future__ import annotations

import ast
from pathlib import Path

from idp.events import event_recorded, record_event

IDP = Path(__file__).resolve().parent.parent / "idp"
#: Packages that react to events (and the surfaces above everything): they subscribe; nothing
#: below them calls up into them.
SUBSCRIBERS = ("lifecycle", "webhooks", "admin", "api")


def _imported_idp_packages(path: Path) -> set[str]:
    """The top-level ``idp`` sub-packages a module imports (relative or absolute)."""
    depth = len(path.relative_to(IDP).parts) - 1
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = ([] if node.level > depth else [path.relative_to(IDP).parts[0]]) + (node.module or "").split(".")
            names.add(parts[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("idp."):
            names.add(node.module.split(".")[1])
    return names


def test_the_bus_services_and_models_import_no_subscriber():
    lower = [IDP / "events.py", *sorted((IDP / "services").glob("*.py")), *sorted((IDP / "models").glob("*.py"))]
    for path in lower:
        imported = _imported_idp_packages(path) & set(SUBSCRIBERS)
        assert not imported, f"{path.relative_to(IDP)} imports {imported}"


def test_a_subscriber_hears_each_event_with_its_realm_and_user_in_the_same_transaction(factory):
    from idp.extensions import db
    from idp.models import AuditEvent

    realm = factory.realm("acme")
    user = factory.user(realm)
    heard = []

    def listener(event, *, realm=None, user=None, **_):
        heard.append((event.event_type, realm.name, user.email, event in db.session.new))

    event_recorded.connect(listener)
    try:
        record_event("user.locked", realm=realm, user=user, reason="test")
    finally:
        event_recorded.disconnect(listener)

    assert heard == [("user.locked", "acme", "alice@example.com", True)]
    db.session.rollback()
    assert db.session.scalar(db.select(AuditEvent.id).filter_by(event_type="user.locked")) is None
