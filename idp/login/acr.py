"""Authentication context classes we assert in ``acr`` (documented in the README)."""

ACR_SINGLE_FACTOR = "urn:idp:acr:sfa"
ACR_MULTI_FACTOR = "urn:idp:acr:mfa"
#: acr_values a relying app may send to ask for multi-factor authentication.
MFA_ACR_VALUES = {
    ACR_MULTI_FACTOR,
    "mfa",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
}
ACR_VALUES_SUPPORTED = [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR]


def acr_for(amr: list[str]) -> str:
    return ACR_MULTI_FACTOR if "mfa" in amr else ACR_SINGLE_FACTOR


def requests_mfa(acr_values: str | None) -> bool:
    return any(v in MFA_ACR_VALUES for v in (acr_values or "").split())
