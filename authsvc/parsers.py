"""A JSON parser that refuses oversized or hostile bodies with a 400/413, never a 500."""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from authsvc.errors import PayloadTooLarge


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.AUTHSVC_MAX_JSON_BODY_BYTES
        # DRF hands us the raw WSGI stream, which Django's DATA_UPLOAD_MAX_MEMORY_SIZE does
        # not guard; read one byte past the limit to know it was exceeded.
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge()
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("The body is not valid JSON.") from exc
        except RecursionError as exc:
            raise ParseError("The JSON body is nested too deeply.") from exc
