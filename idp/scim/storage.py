"""The ``ScimStorage`` scim2-server calls between its protocol steps: it dispatches each
resource type to its module (``users``, ``groups``), which reads and writes the realm's rows
through the services."""
from __future__ import annotations

from typing import Any

from scim2_models import NotImplementedException, ResourceType
from scim2_server.storage import ScimStorage, SearchPage

from . import users

#: Resource type name -> the module serving it (``groups`` joins when organizations exist).
RESOURCE_MODULES: dict[str, Any] = {"User": users}


def _module(resource_type: ResourceType):
    return RESOURCE_MODULES[resource_type.name]


class RealmStorage(ScimStorage):
    """Every method works in the request's realm (``flask.g.realm``) and commits its own
    change: one SCIM operation, one transaction."""

    def get(self, resource_type, resource_id, *, response_parameters=None):
        return _module(resource_type).get(resource_id)

    def search(self, resource_types, search_request, *, position=None) -> SearchPage:
        if len(resource_types) != 1:
            raise NotImplementedException(detail="Search one resource type at a time (/Users or /Groups)")
        return _module(resource_types[0]).search(search_request, position)

    def create(self, resource_type, resource):
        return _module(resource_type).create(resource)

    def update(self, resource_type, resource, *, expected_version=None):
        return _module(resource_type).update(resource, expected_version)

    def delete(self, resource_type, resource_id, *, expected_version=None):
        _module(resource_type).delete(resource_id, expected_version)
