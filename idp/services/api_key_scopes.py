"""The scopes an API key may hold, apart from the key service so that the command line can
list them in its help without loading the database layer."""
from __future__ import annotations

#: Every scope a key may hold, and what it allows. Reading is included in the write scope of
#: the same resources (``IMPLIED``).
SCOPES = {
    "users:read": "Read users, their second factors, recovery-code counts and browser sessions.",
    "users:write": "Create, change and delete users; set passwords; enrol and remove second factors.",
    "sessions:write": "End a user's browser sessions, one or all.",
    "clients:read": "Read clients (relying apps).",
    "clients:write": "Create, change and delete clients; rotate their secrets.",
    "providers:read": "Read upstream identity providers.",
    "providers:write": "Add, change, enable, disable and remove upstream identity providers.",
    "realms:read": "Read realm settings and SMS integrations.",
    "realms:admin": "Change realm settings and SMS integrations; with a server-level key, create realms.",
    "audit:read": "Read the audit log.",
    "api_keys:admin": "Create, list and revoke the realm's API keys (only with scopes the key holds itself).",
    "webhooks:read": "Read webhooks and their delivery log.",
    "webhooks:admin": "Add, change and remove webhooks; send test events; redeliver messages.",
    "orgs:read": "Read organizations, their domains, members and invitations.",
    "orgs:write": "Create, change and delete organizations; add and remove members, set their roles; invite.",
    "roles:read": "Read roles and their permissions, and the realm roles of users.",
    "roles:write": "Create, change and delete roles; give realm roles to users and take them away.",
    "scim:read": "Read users and groups through SCIM 2.0 (/realms/<realm>/scim/v2).",
    "scim:write": "Provision users and groups through SCIM 2.0: create, change, deactivate and delete them.",
}
IMPLIED = {
    "users:write": ("users:read",),
    "clients:write": ("clients:read",),
    "providers:write": ("providers:read",),
    "realms:admin": ("realms:read",),
    "webhooks:admin": ("webhooks:read",),
    "orgs:write": ("orgs:read",),
    "roles:write": ("roles:read",),
    "scim:write": ("scim:read",),
}
