from django.conf import settings
from django.core.checks import Error, Tags, register

from pages.branding import brand_color_valid


@register(Tags.templates)
def check_brand_color(app_configs, **kwargs):
    if brand_color_valid(settings.AUTHSVC_BRAND_COLOR):
        return []
    return [
        Error(
            f"AUTHSVC_BRAND_COLOR={settings.AUTHSVC_BRAND_COLOR!r} is not a #rrggbb colour.",
            hint="Write six hexadecimal digits after #, e.g. #2563eb.",
            id="authsvc.E070",
        )
    ]
