from django.apps import AppConfig
from social_django.apps import PythonSocialAuthConfig


class SocialAuthConfig(PythonSocialAuthConfig):
    """social-auth-app-django's app (same name and label: its models, migrations and admin
    unchanged), without the strategy its `ready()` builds at start. That strategy imports
    social-core's strategy and store, and through them python3-openid's discovery and
    defusedxml, which only a Google flow needs: they load on a worker's first one
    (docs/performance.md, "Memory"). The default strategy it would have set is
    `GoogleOAuth2`'s own, built when Django constructs the backend without one."""

    def ready(self) -> None:
        AppConfig.ready(self)
