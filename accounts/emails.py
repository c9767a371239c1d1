"""One normal form for email addresses, so case and Unicode variants are one account."""

import contextlib
import unicodedata

EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    # NFKC folds compatibility forms (fullwidth letters, ligatures) into their plain form;
    # lowercasing the whole address matches how every major provider treats local parts.
    # NFKC again after lowercasing: a lowercase letter may compose where its capital did not
    # ("T" + U+0308 stays two code points, "t" + U+0308 is U+1E97), so without it an address
    # and its lowercase spelling would be two accounts.
    value = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).strip().lower())
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
