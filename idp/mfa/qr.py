"""QR codes for provisioning URIs, rendered as inline SVG by ``qrcode`` (no JS, no images)."""
from __future__ import annotations

import qrcode
import qrcode.image.svg
from markupsafe import Markup


def build_totp_svg(uri: str) -> Markup:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg)
