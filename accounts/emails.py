"""One normal form for email addresses, so case and Unicode variants are one account."""

import contextlib
import unicodedata

EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    # NFKC folds compatibility forms (fullwidth letters, ligatures) into their plain form;
    # lowercasing the whole address matches how every major provider treats local parts.
    value = unicodedata.normalize("NFKC", value).strip().lower()
    local, at, domain = value.rpartition("@")
    if at and domain and not domain.isascii():
        # An internationalised domain in its one ASCII (punycode) form, so the Unicode and
        # the xn-- spelling are one address, and a lookalike domain shows as what it is:
        # "g\u0131thub.com" (dotless i) is xn--gthub-n4a.com, never github.com. A domain
        # IDNA cannot encode stays as it is, and email_clean refuses it.
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
        value = f"{local}@{domain}"
    return value
