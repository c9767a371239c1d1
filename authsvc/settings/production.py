"""The settings every process loads (manage.py, gunicorn, the dev server).

The environment decides the behaviour: with DJANGO_DEBUG unset it is the hardened
production configuration and `manage.py check --deploy` passes.
"""

from .apidocs import *
from .base import *
from .cors import *
from .email import *
from .events import *
from .jwt import *
from .metrics import *
from .mfa import *
from .operators import *
from .pages import *
from .ratelimit import *
from .security import *
from .sessions import *
from .social import *
from .webauthn import *
