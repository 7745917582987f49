"""QR codes for provisioning URIs, rendered as inline SVG by ``qrcode`` (no JS, no images).
``qrcode`` is imported when a code is drawn: only a TOTP enrolment page needs it."""
from __future__ import annotations

from markupsafe import Markup


def build_totp_svg(uri: str) -> Markup:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg)
