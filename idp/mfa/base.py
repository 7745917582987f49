"""The interface every second factor implements, over the whole life of a credential.

A factor is a package ``idp.mfa.<kind>`` whose ``FACTOR`` is an instance of a ``Factor``
subclass; ``idp.mfa.registry`` builds the installation's factors from ``[mfa] factors`` in
``create_app``. Every surface (the hosted MFA pages, the account page, the management API, the
console, the CLI) goes through ``idp.mfa.flows`` and the methods below, and never branches on a
factor's kind; pages include the factor's own template partials (``template(name)``, from
``idp/mfa/<kind>/templates/``, which a theme may override under ``mfa/<kind>/``).

This module imports no factor. Its lifecycle, for a factor ``f``:

- ``f.enabled(realm)``: the realm offers it;
- ``f.begin_enrolment(user, fields)`` makes a *pending* ``Authenticator`` (a new TOTP secret,
  the phone number typed); ``f.enrolment_context(challenge)`` is what the page or JSON client
  shows (the QR code, the masked phone); ``f.complete_enrolment(challenge, response)`` checks
  the first response, after which ``flows.activate`` makes it ``active``;
- ``f.begin(challenge)`` starts a verification at login (texts a code) and returns what the
  page or client needs (``{"resend_wait_seconds": 30, "destination": "+1 •••• ••0100"}``);
- ``f.verify(challenge, response)`` checks a response (a mapping of the form's fields, such as
  ``{"code": "123456"}``) and returns the credential it matched, or None;
- ``f.describe(authenticator)`` says what lists show of a credential."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..i18n import _l


class FactorError(Exception):
    """A factor could not do what was asked (code not sent, cap reached, bad enrolment input);
    the message is for the user. ``field`` names the form field it is about, if any."""

    def __init__(self, message: str, *, retry_after: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.field = field


class AlreadyEnrolled(FactorError):
    """The user already holds exactly this credential (the same verified phone number)."""


@dataclass
class Challenge:
    """Who is being challenged, for what, and (while enrolling) with which pending credential.
    ``binding`` is a login transaction id or an account action: a code issued for one binding
    never verifies another."""

    realm: object
    user: object
    binding: str
    authenticator: object | None = None


@dataclass(frozen=True)
class CredentialDescription:
    """What the account page, the console and the API show of one credential."""

    id: str
    kind: str
    kind_label: str
    name: str
    state: str
    detail: str | None
    created_at: object
    last_used_at: object
    #: Extra fields for the API's representation (``{"phone": "+14155550100"}``).
    fields: dict


class Factor:
    kind = ""
    #: RFC 8176 methods added to ``amr`` (with "mfa") when this factor succeeds at login.
    amr: tuple[str, ...] = ()
    #: A backup factor (recovery codes) is never enrolled on its own: ``flows.activate`` gives
    #: it to a user with their first other factor, and logins offer it only to its holders.
    backup = False
    #: At most one active credential of this kind per user: activating one replaces the other
    #: (a new phone number replaces the old one).
    single = False
    #: The verification sends something (a code) that may be sent again.
    resendable = False
    #: An operator may enrol it for a user from the console (the QR code shown to them once).
    operator_enrolment = False
    #: ``begin_enrolment`` needs input from the user first (a phone number); otherwise it runs
    #: when the setup page opens.
    enrolment_needs_input = False

    #: Enrolment is a ceremony in the user's browser (a passkey): the management API cannot
    #: create one, and a pending one has nothing to show anyone but that browser.
    browser_enrolment = False
    #: The form field a wrong response is reported on.
    response_field = "code"

    label = ""
    plural_label = ""
    choice_label = ""
    choice_description = ""
    enrol_label = ""
    enrol_description = ""
    add_label = _l("Add")
    #: The audit events of a credential added and removed (security notices and the forgetting
    #: of remembered devices follow them: ``idp.lifecycle.notifications``).
    added_event = "mfa.credential_added"
    removed_event = "mfa.credential_removed"
    #: Shown on the account page once a credential is set up; ``%(name)s`` is its name.
    added_message = _l("'%(name)s' is set up.")
    default_name = ""

    def init_app(self, app) -> None:
        """Called from ``create_app`` for each configured factor: the place to register the
        factor's own routes, login options or stages."""

    # --- the realm -------------------------------------------------------------------------

    def enabled(self, realm) -> bool:
        return realm.offers_factor(self.kind)

    # --- enrolment -------------------------------------------------------------------------

    def begin_enrolment(self, user, fields: Mapping, *, binding: str) -> object:
        """A new pending ``Authenticator`` (added to the session, not committed); raise
        ``FactorError`` on bad input."""
        raise NotImplementedError

    def enrolment_context(self, challenge: Challenge) -> dict:
        """What the setup page or API shows for the pending credential."""
        return {}

    def deliver_enrolment(self, challenge: Challenge) -> None:
        """Send what the pending credential needs proven (a code to the phone typed), for the
        first time or again; ``FactorError`` when this factor sends nothing."""
        raise FactorError(str(_l("This method sends nothing: enter the code your app or device shows.")),
                          field="code")

    def enrolment_input(self, pending) -> dict:
        """What the user typed to begin ``pending`` (to correct it when starting again)."""
        return {}

    def self_enrolment_refused(self, user) -> str | None:
        """Why the user may not set up (or replace) this factor themselves, or None."""
        return None

    def complete_enrolment(self, challenge: Challenge, response: Mapping) -> bool:
        """Whether ``response`` proves the pending credential ``challenge.authenticator``."""
        raise NotImplementedError

    def issue(self, user) -> list[str]:
        """Backup factors: a new active credential for ``user`` (added to the session); the
        plain secrets to show once."""
        raise NotImplementedError

    def on_activate(self, authenticator) -> None:
        """Called by ``flows.activate`` as the credential becomes active."""

    # --- login -----------------------------------------------------------------------------

    #: What the offer after a login says ("Create a passkey for faster sign-in"), for factors
    #: that make one (``offers_after_login``).
    offer_label = ""
    offer_description = ""

    def offers_after_login(self, txn) -> bool:
        """Whether this login, its second factor just verified, should offer to set this factor
        up (once per user: ``User.factor_offer_seen_at``)."""
        return False

    def usable(self, authenticator) -> bool:
        """Whether an active credential can still verify (a recovery set with codes left)."""
        return True

    def begin(self, challenge: Challenge, *, resend: bool = False) -> dict:
        """Start a verification (send a code); what the page or client needs to answer it."""
        return {}

    def context(self, challenge: Challenge) -> dict:
        """What the code page shows without starting anything (the masked destination, the
        resend wait)."""
        return {}

    def started(self, challenge: Challenge) -> bool:
        """Whether ``begin`` already ran for this binding (a code is on its way)."""
        return True

    def verify(self, challenge: Challenge, response: Mapping):
        """The active credential ``response`` proves, or None."""
        raise NotImplementedError

    def methods(self, authenticator) -> tuple[str, ...]:
        """The RFC 8176 methods a verification with ``authenticator`` proved (``amr`` by
        default; a passkey tells ``hwk`` from ``swk`` and whether the user was verified)."""
        return tuple(self.amr)

    def exhausted(self, challenge: Challenge) -> bool:
        """The response can no longer succeed without ``begin`` again (a code used up)."""
        return False

    wrong_response_message = _l("That code is not right. Check it and try again.")
    exhausted_message = _l("This code can no longer be used. Request a new code.")

    # --- import and export (``idp users import`` / ``export``) ---------------------------------

    #: Its active credentials can be carried to and from another system. A portable factor
    #: fills the three methods below.
    portable = False

    def export_credential(self, authenticator) -> dict | None:
        """The credential as one entry of an export line's ``mfa.factors`` (``{"type": kind,
        ...}``), or None when it cannot leave this server."""
        return None

    def check_import(self, realm, entry: Mapping) -> dict:
        """The data of an imported credential from an entry of ``mfa.factors``, checked and
        ready for ``restore_credential``; ``FactorError`` (message for the import report) when it
        is not valid. Writes nothing, so a bad entry leaves no half-imported user."""
        raise FactorError(f"credentials of type '{self.kind}' cannot be imported")

    def restore_credential(self, user, checked: dict) -> object:
        """An active ``Authenticator`` for ``user`` from what ``check_import`` returned (added to
        the session, not committed)."""
        raise NotImplementedError

    # --- lists -----------------------------------------------------------------------------

    def describe(self, authenticator) -> CredentialDescription:
        return CredentialDescription(
            id=authenticator.id, kind=self.kind, kind_label=str(self.label), name=authenticator.name,
            state=authenticator.state, detail=None, created_at=authenticator.created_at,
            last_used_at=authenticator.last_used_at, fields={})

    def display_name(self, authenticator) -> str:
        """How messages name a credential ("... removed."): its detail (a phone number), else its name."""
        return self.describe(authenticator).detail or authenticator.name

    def renamable(self, authenticator) -> bool:
        return not self.backup

    # --- forms -----------------------------------------------------------------------------

    def verify_form(self, **kwargs):
        """The form a login page shows to verify (its fields are the ``response`` mapping)."""
        from .forms import CodeForm

        return CodeForm(**kwargs)

    def enrol_form(self, pending, **kwargs):
        """The form of the setup page: the input ``begin_enrolment`` needs while ``pending`` is
        None, then the first response."""
        from .forms import CodeForm

        return CodeForm(**kwargs)

    def template(self, name: str) -> str:
        """The factor's template partial ``name`` (``verify``, ``enrol``, ``account``)."""
        return f"mfa/{self.kind}/{name}.html"


def normalize_code(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "")
