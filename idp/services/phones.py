"""Phone numbers: parsed and validated with ``phonenumbers``, stored as E.164. ``phonenumbers``
(its metadata of every region) is imported by the functions that use it, so that a process
serving no SMS user does not hold it."""
from __future__ import annotations

from ..i18n import _
from . import ServiceError


def parse_phone(raw: str, *, check_type: bool = True, allowed_countries: list[str] | None = None) -> str:
    """E.164 for a valid number written with its international code, or a ServiceError in words."""
    text = (raw or "").strip()
    if not text:
        raise ServiceError(_("Enter your phone number."), field="phone")
    if len(text) > 32:
        raise ServiceError(_("That phone number is too long."), field="phone")
    if not text.startswith("+") and not text.startswith("00"):
        raise ServiceError(
            _("Include your country code, starting with +, for example +1 415 555 0100."), field="phone"
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberType

    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        raise ServiceError(_("That does not look like a phone number. Check it and try again."), field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ServiceError(_("That phone number is not valid. Check the country code and the number."), field="phone")
    if check_type and phonenumbers.number_type(number) not in (PhoneNumberType.MOBILE,
                                                                 PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ServiceError(_("We can only send codes to mobile phone numbers."), field="phone")
    region = phonenumbers.region_code_for_number(number)
    if allowed_countries and region not in allowed_countries:
        raise ServiceError(_("We cannot send codes to phone numbers in that country."), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_phone_country(code: str) -> bool:
    """Whether ``code`` is a region that has phone numbers (``phonenumbers``' regions: ISO 3166
    codes, plus a few territories with their own numbering such as AC and XK). A code outside
    them (ZZ) would match no number, so an allow-list made of it would silently block every SMS."""
    import phonenumbers

    return code in phonenumbers.SUPPORTED_REGIONS


def phone_country(e164: str) -> str | None:
    import phonenumbers
    from phonenumbers import NumberParseException

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except NumberParseException:
        return None


def mask_phone(e164: str | None) -> str | None:
    """"+14155550100" -> "+1 •••• ••0100": the country code and the last four digits."""
    if not e164:
        return None
    import phonenumbers
    from phonenumbers import NumberParseException

    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return "•••• " + e164[-4:]
    national = str(number.national_number)
    hidden = max(len(national) - 4, 0)
    dots = "•" * hidden
    grouped = f"{dots[:4]} {dots[4:]}" if hidden > 4 else dots
    return f"+{number.country_code} {grouped}{national[-4:]}"
