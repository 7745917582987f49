"""The persistent model, one module per aggregate."""
from .api_key import ApiKey
from .audit import AuditEvent
from .base import UTCDateTime, utcnow
from .client import SUPPORTED_SCOPES, Client
from .client_registration import InitialAccessToken
from .consent import Consent
from .email_link import EmailLink
from .keys import SigningKey
from .organization import Membership, Organization, OrganizationDomain, OrganizationInvitation, Role
from .mfa import Authenticator, OtpChallenge, SmsIntegration, SmsMessage
from .ratelimit import rate_limit_counters
from .realm import Realm
from .remembered_device import RememberedDevice
from .session import BrowserSession, LoginTransaction
from .social import FederatedIdentity, IdentityProvider
from .tokens import AuthorizationCode, IssuedToken
from .user import User
from .webhook import Webhook, WebhookDelivery

__all__ = [
    "rate_limit_counters",
    "FederatedIdentity",
    "IdentityProvider",
    "ApiKey",
    "Authenticator",
    "OtpChallenge",
    "SmsIntegration",
    "SmsMessage",
    "AuditEvent",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "Consent",
    "EmailLink",
    "InitialAccessToken",
    "IssuedToken",
    "LoginTransaction",
    "Membership",
    "Organization",
    "OrganizationDomain",
    "OrganizationInvitation",
    "Role",
    "Realm",
    "RememberedDevice",
    "SUPPORTED_SCOPES",
    "SigningKey",
    "UTCDateTime",
    "Webhook",
    "WebhookDelivery",
    "User",
    "utcnow",
]
