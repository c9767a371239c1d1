"""The service's look from settings: its name and one brand colour."""

import re

from django.conf import settings

BRAND_COLOR_FORMAT = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_BRAND_COLOR = "#2563eb"


def brand_color_valid(value: str) -> bool:
    # The value is written into the page's CSS: only this shape can never break out of it.
    return isinstance(value, str) and BRAND_COLOR_FORMAT.fullmatch(value) is not None


def _luminance(color: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ink_on(color: str) -> str:
    """White or near-black, whichever contrasts more with `color`."""
    luminance = _luminance(color)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / (_luminance("#111827") + 0.05)
    return "#ffffff" if on_white >= on_black else "#111827"


def brand() -> dict[str, str]:
    color = settings.AUTHSVC_BRAND_COLOR
    if not brand_color_valid(color):
        color = DEFAULT_BRAND_COLOR  # the system check (authsvc.E070) reports it
    return {
        "site_name": settings.AUTHSVC_SERVICE_NAME,
        "brand_color": color,
        "brand_ink": ink_on(color),
    }
