"""One normal form for email addresses, so case and Unicode variants are one account."""

import contextlib
import unicodedata

EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    # NFKC folds compatibility forms (fullwidth letters, ligatures) into their plain form;
    # lowercasing the whole address matches how every major provider treats local parts.
    value = unicodedata.normalize("NFKC", value).strip().lower()
    # Once more after lowercasing: a lowercase letter may compose where its capital has no
    # precomposed form ("T\u0308" lowercases to "t\u0308", which NFKC makes "\u1e97"), and
    # "T\u0308" and "t\u0308" must be one address.
    value = unicodedata.normalize("NFKC", value)
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


def local_part_is_ascii(normal: str) -> bool:
    """Whether a normal-form address has an ASCII local part, as docs/security.md promises.

    NFKC has already folded what is merely another spelling of ASCII (fullwidth letters,
    the Kelvin sign, the long s) into it; what is left is a different letter that looks
    like one ("m\u0131ke", a dotless i), which would be a second, lookalike account.
    """
    return normal.rpartition("@")[0].isascii()
