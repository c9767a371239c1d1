"""One normal form for email addresses, so case and Unicode variants are one account."""

import unicodedata

EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    # NFKC folds compatibility forms (fullwidth letters, ligatures) into their plain form;
    # lowercasing the whole address matches how every major provider treats local parts.
    return unicodedata.normalize("NFKC", value).strip().lower()
