"""One normal form for email addresses, so case and Unicode variants are one account."""

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
        # "gıthub.com" (dotless i) is xn--gthub-n4a.com, never github.com.
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # not a valid domain: email_clean refuses it
        value = f"{local}@{domain}"
    return value
