"""Properties of the email normal form (`normalize_email`) and of `email_clean`, which
every stored address passes, over addresses hypothesis makes up."""

import contextlib
import string
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.emails import normalize_email
from accounts.exceptions import InvalidRequest
from accounts.services import email_clean

pytestmark = pytest.mark.fuzz

PROPERTY_SETTINGS = settings(
    max_examples=500,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Local parts and domains as people type them, with the Unicode that makes them tricky:
# fullwidth forms, ligatures, combining marks, odd spaces and control characters.
TRICKY = "ＡＢＣａｂｃ＠．ﬁﬀ℡Ωİıßẞς\u0301\u0308\u00a0\u2003\u200b\u200d\u202e\t\n\x00\x01\x7f"
local = st.text(alphabet=string.ascii_letters + string.digits + ".+-_" + TRICKY, min_size=1)
domain = st.text(alphabet=string.ascii_letters + string.digits + ".-" + TRICKY, min_size=1)
addresses = st.one_of(
    st.emails(),
    st.builds(lambda a, b: f"{a}@{b}", local, domain),
    st.builds(lambda a, b: f"{a}@{b}.com", local, domain),
    st.text(max_size=80),
)


def _control_characters(value: str) -> set[str]:
    return {char for char in value if unicodedata.category(char) in {"Cc", "Cf"}}


@given(raw=addresses)
@PROPERTY_SETTINGS
def test_the_normal_form_is_idempotent_lowercase_and_nfkc_stable(raw):
    normal = normalize_email(raw)

    assert normalize_email(normal) == normal
    assert normal == normal.lower()
    assert unicodedata.normalize("NFKC", normal) == normal
    assert normal == normal.strip()


@given(raw=addresses)
@PROPERTY_SETTINGS
def test_the_normal_form_adds_no_control_characters(raw):
    assert _control_characters(normalize_email(raw)) <= _control_characters(raw)


@given(raw=addresses)
@PROPERTY_SETTINGS
def test_case_and_compatibility_variants_are_one_address(raw):
    normal = normalize_email(raw)

    assert normalize_email(raw.lower()) == normal
    assert normalize_email(unicodedata.normalize("NFKC", raw)) == normal
    assert normalize_email(unicodedata.normalize("NFKD", raw)) == normal
    assert normalize_email(f"  {raw}\t") == normalize_email(raw.strip())
    # Upper-casing is lossless only where the case mapping round-trips: "ß" upper-cases to
    # "SS", which is another address under `lower()`.
    if raw.upper().lower() == raw.lower():
        assert normalize_email(raw.upper()) == normal
        assert normalize_email(raw.swapcase()) == normal


@given(raw=addresses)
@PROPERTY_SETTINGS
def test_email_clean_returns_a_normal_form_or_raises_invalid_request(raw):
    try:
        clean = email_clean(raw)
    except InvalidRequest as exc:
        assert set(exc.fields) == {"email"}
        return
    assert clean == normalize_email(raw)
    assert email_clean(clean) == clean
    assert not _control_characters(clean), repr(clean)
    assert "@" in clean and len(clean) <= 254
    # Local parts are ASCII (docs/security.md): a non-ASCII one NFKC did not fold is a lookalike.
    assert clean.isascii(), repr(clean)


@given(raw=st.one_of(st.text(), st.binary().map(lambda raw: raw.decode("latin-1"))))
@PROPERTY_SETTINGS
def test_email_clean_raises_nothing_but_invalid_request(raw):
    with contextlib.suppress(InvalidRequest):
        email_clean(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "alice@example.com\u200b",  # found by the property above: IDNA drops it
        "ali\u200dce@example.com",
        "alice@exa\u202emple.com",
        "alice@exa\u00admple.com",  # a soft hyphen
        '"ali\x01ce"@example.com',
        '"ali\u2028ce"@example.com',
    ],
)
def test_invisible_and_control_characters_are_not_an_address(raw):
    with pytest.raises(InvalidRequest) as caught:
        email_clean(raw)

    assert set(caught.value.fields) == {"email"}


_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in string.ascii_letters + string.digits + "+-_."}
ascii_local = st.from_regex(r"[a-z0-9][a-z0-9+_-]{0,20}", fullmatch=True)


@given(local=ascii_local, lookalike=st.sampled_from(["\u0131", "\u0430", "\u0435", "\u03bf"]))
@PROPERTY_SETTINGS
def test_a_lookalike_letter_is_refused_while_its_fullwidth_twin_is_the_ascii_address(
    local, lookalike
):
    address = f"{local}@example.com"
    # Fullwidth forms are another spelling of ASCII: the same account.
    assert email_clean(address.translate(_FULLWIDTH)) == email_clean(address)
    # A dotless i, Cyrillic a/e or Greek omicron is another letter that looks the same.
    with pytest.raises(InvalidRequest) as caught:
        email_clean(f"{lookalike}{local}@example.com")
    assert set(caught.value.fields) == {"email"}


def test_a_letter_that_composes_only_in_lower_case_is_one_address():
    # Found by the property above: T + U+0308 has no precomposed capital, t + U+0308 does.
    assert normalize_email("T\u0308@example.com") == normalize_email("t\u0308@example.com")
    assert normalize_email("T\u0308@example.com") == "\u1e97@example.com"
