"""The ``ScimStorage`` scim2-server calls between its protocol steps: it dispatches each
resource type to its module (``users``, ``groups``), which reads and writes the realm's rows
through the services."""
from __future__ import annotations

from typing import Any

from scim2_models import ResourceType
from scim2_server.storage import ScimStorage, SearchPage

from . import groups, users

#: Resource type name -> the module serving it.
RESOURCE_MODULES: dict[str, Any] = {"User": users, "Group": groups}


def _module(resource_type: ResourceType):
    return RESOURCE_MODULES[resource_type.name]


class RealmStorage(ScimStorage):
    """Every method works in the request's realm (``flask.g.realm``) and commits its own
    change: one SCIM operation, one transaction."""

    def get(self, resource_type, resource_id, *, response_parameters=None):
        return _module(resource_type).get(resource_id)

    def search(self, resource_types, search_request, *, position=None) -> SearchPage:
        """A search at the root walks the types one after the other (users, then groups), as
        one list: ``startIndex`` and ``count`` apply to the whole of it."""
        if len(resource_types) == 1:
            return _module(resource_types[0]).search(search_request, position)
        start, count = search_request.start_index_0 or 0, search_request.count
        total, found = 0, []
        for resource_type in resource_types:
            module = _module(resource_type)
            counted = module.search(search_request.model_copy(update={"start_index": 1, "count": 0}), None).total
            wanted = None if count is None else count - len(found)
            skip = max(0, start - total)
            if (wanted is None or wanted > 0) and skip < counted:
                page = module.search(search_request.model_copy(update={"start_index": skip + 1, "count": wanted}), None)
                found.extend(page.resources)
            total += counted
        return SearchPage(total, found)

    def create(self, resource_type, resource):
        return _module(resource_type).create(resource)

    def update(self, resource_type, resource, *, expected_version=None):
        return _module(resource_type).update(resource, expected_version)

    def delete(self, resource_type, resource_id, *, expected_version=None):
        _module(resource_type).delete(resource_id, expected_version)
