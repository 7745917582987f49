"""scim2-tester, the python-scim project's RFC 7643/7644 compliance checker, run against the
realm's SCIM endpoint: discovery, then create, read, replace, PATCH (add, replace, remove on
every attribute) and delete of Users and Groups, and searches.

One check is known to fail and is accepted here, explained in the README ("SCIM 2.0"):
removing ``active`` with PATCH leaves the account active (an account is active or locked;
``active`` unassigned is the default, true) where the tester expects the attribute gone."""
from __future__ import annotations

import uuid
from collections import Counter
from typing import Annotated

from pydantic import Field
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_models import Required, ScimProvider, Uniqueness
from scim2_tester import Status, check_server

from idp.scim.resources import Group, User

from .conftest import REALM

ACCEPTED_FAILURES = {("User", "check_remove_attribute", "active")}


class FreshAddresses(list):
    """Pydantic ``examples`` that scim2-tester draws a userName from: a new address at each
    draw. A userName is the account's email address here, which a schema cannot say."""

    def __len__(self):
        return 1_000_000

    def __getitem__(self, _index):
        return f"{uuid.uuid4().hex[:16]}@scim-tester.example.com"


class ClientUser(User):
    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(None, examples=FreshAddresses())


def test_scim2_tester_finds_the_realm_endpoint_compliant(app, scim_key, capsys):
    client = WSGISCIMClient(app, base_url=f"http://localhost/realms/{REALM}/scim/v2",
                            headers={"Authorization": f"Bearer {scim_key}"},
                            provider=ScimProvider(models=[ClientUser, Group]))
    results = check_server(client)
    summary = Counter(result.status.name for result in results)
    failures = [result for result in results if result.status not in (Status.SUCCESS, Status.SKIPPED)]
    with capsys.disabled():
        print(f"\nscim2-tester: {len(results)} checks, {dict(summary)}")
        for result in failures:
            print(f"  {result.status.name} {result.resource_type} {result.title}: {result.reason}")
    unexpected = [result for result in failures
                  if (result.resource_type, result.title, (result.data or {}).get("urn")) not in ACCEPTED_FAILURES]
    assert not unexpected, [(r.resource_type, r.title, r.reason) for r in unexpected]
    assert summary["SUCCESS"] >= 60
    assert {result.resource_type for result in results} >= {"User", "Group"}
