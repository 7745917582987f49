"""Plain requests: the one shape of machine request that a grant or an endpoint answers without
Authlib's dispatch around it (``ClientCredentialsGrant.answer_plain_request``,
``RealmIntrospectionEndpoint.answer_plain_request``), asked by an express lane.

A plain request authenticates its client with a secret, either in a ``Basic`` header or in the
form (never both: Authlib's order of methods decides those), carries only the fields its grant
or endpoint names, no DPoP proof, over a transport Authlib allows. The client it names is
authenticated by the same methods Authlib's ``ClientAuthentication`` calls, in the same order;
whatever does not pass goes to Authlib, which answers it (errors included) as before."""
from __future__ import annotations

from typing import NamedTuple

from authlib.oauth2.rfc6749.util import extract_basic_authorization

FORM_CREDENTIALS = frozenset({"client_id", "client_secret"})


class SecretCredentials(NamedTuple):
    client_id: str
    client_secret: str
    #: ``client_secret_basic`` or ``client_secret_post``
    method: str


def secret_credentials(request, fields: frozenset[str]) -> SecretCredentials | None:
    """The client's secret credentials of a plain request whose other form fields are among
    ``fields``, else None."""
    form, headers = request.form, request.headers
    if headers.get("DPoP") is not None or not request.transport_allowed():
        return None
    try:
        client_id, client_secret = extract_basic_authorization(headers)
    except ValueError:  # credentials that are not UTF-8: Authlib's dispatch refuses them
        return None
    if client_id and client_secret:
        method, allowed = "client_secret_basic", fields
    elif headers.get("Authorization") is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        method, allowed = "client_secret_post", fields | FORM_CREDENTIALS
    else:
        return None
    if not (client_id and client_secret) or not allowed.issuperset(form):
        return None
    return SecretCredentials(client_id, client_secret, method)


def authenticated_client(server, credentials: SecretCredentials, endpoint: str):
    """The client the credentials authenticate at ``endpoint`` (``token``, ``introspection``),
    as Authlib's ``ClientAuthentication`` decides it: the client ``server.query_client`` finds,
    its secret (``check_client_secret``), the method it is registered for
    (``check_endpoint_auth_method``); else None."""
    client = server.query_client(credentials.client_id)
    if (
        client is None
        or not client.check_client_secret(credentials.client_secret)
        or not client.check_endpoint_auth_method(credentials.method, endpoint)
    ):
        return None
    return client
