"""Body parsers that refuse oversized or hostile bodies with a 400/413, never a 500."""

import json
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

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


class BoundedFormParser(BaseParser):
    """`application/x-www-form-urlencoded`, for the OAuth 2.0 endpoints only (RFC 6749 and
    RFC 7662 define form bodies): the same size bound, UTF-8 strictly, at most
    MAX_FORM_FIELDS fields. Gives a MultiValueDict, so a view can refuse a repeated field."""

    media_type = "application/x-www-form-urlencoded"
    MAX_FORM_FIELDS = 16

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.AUTHSVC_MAX_JSON_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        try:
            pairs = parse_qsl(
                raw.decode("ascii"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
                max_num_fields=self.MAX_FORM_FIELDS,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("The body is not a valid form.") from exc
        data = MultiValueDict()
        for name, value in pairs:
            data.appendlist(name, value)
        return data
