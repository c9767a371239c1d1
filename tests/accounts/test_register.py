import pytest

from accounts.models import User
from sessions_store.models import Session

pytestmark = pytest.mark.django_db


def test_register_creates_user_session_and_cookies(api):
    response = api.register(email="New.Person@Example.COM", name="New Person")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {"id": str(user.pk)}
    assert user.email == "new.person@example.com"
    assert user.name == "New Person"
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert Session.objects.filter(user=user, revoked_at__isnull=True).count() == 1
    access, refresh = response.cookies["access_token"], response.cookies["refresh_token"]
    assert access["httponly"] and access["path"] == "/" and access["samesite"] == "Lax"
    assert access["max-age"] == 900 and access["secure"]
    assert refresh["httponly"] and refresh["path"] == "/auth/" and refresh["samesite"] == "Strict"
    assert refresh["max-age"] == 604800 and refresh["secure"]
    # Tokens never appear in a body.
    assert access.value not in response.content.decode()
    assert "." not in refresh.value  # opaque, not a JWT


def test_register_then_profile(api):
    api.register(email="bob@example.com", name="Bob")

    response = api.get("/auth/self/")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "bob@example.com",
        "name": "Bob",
        "roles": ["user"],
        "email_verified": False,
        "mfa_enabled": False,
        "date_joined": body["date_joined"],
    }


@pytest.mark.parametrize(
    "variant",
    [
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        " Alice@Example.com ",
        "ａｌｉｃｅ@example.com",  # fullwidth letters: NFKC makes them ASCII
        "ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ",
    ],
)
def test_register_case_and_unicode_variants_are_taken(api, user, variant):
    response = api.register(email=variant)

    assert response.status_code == 409
    assert response.json() == {
        "error": "email_taken",
        "detail": "An account with this email already exists.",
    }
    assert User.objects.count() == 1


def test_database_refuses_case_variant_duplicates(user):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="ALICE@example.com")])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "correct horse battery"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "password123"}, "password"),
        ({"email": "a@example.com", "password": "12345678901"}, "password"),
        ({"email": "a@example.com", "password": "x" * 1025}, "password"),
        ({"email": "a@example.com"}, "password"),
        ({"password": "correct horse battery"}, "email"),
        ({"email": 123, "password": "correct horse battery"}, "email"),
        ({"email": "a@example.com", "password": 12345678901234}, "password"),
        ({"email": "a@example.com", "password": ["x"]}, "password"),
        (
            {"email": "a@example.com", "password": "correct horse battery", "name": "n" * 151},
            "name",
        ),
        ({"email": "a" * 250 + "@example.com", "password": "correct horse battery"}, "email"),
    ],
)
def test_register_rejects_bad_input_with_field_errors(api, payload, field):
    response = api.post_json("/auth/register/", payload)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert isinstance(body["detail"], str)
    assert list(body["fields"]) == [field]
    assert all(isinstance(message, str) for message in body["fields"][field])
    assert User.objects.count() == 0


def test_password_similar_to_email_is_refused(api):
    response = api.post_json(
        "/auth/register/", {"email": "sunflowerfield@example.com", "password": "sunflowerfield"}
    )

    assert response.status_code == 400
    assert "password" in response.json()["fields"]


def test_oversized_password_is_refused_before_hashing(api, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("hashed an oversized password")

    monkeypatch.setattr("accounts.hashers.Argon2idPasswordHasher.encode", fail)

    response = api.post_json("/auth/register/", {"email": "a@example.com", "password": "x" * 5000})

    assert response.status_code == 400
    assert response.json()["fields"]["password"]


def test_register_requires_csrf(api):
    response = api.post_json(
        "/auth/register/",
        {"email": "a@example.com", "password": "correct horse battery"},
        no_csrf=True,
    )

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert User.objects.count() == 0


def test_register_with_wrong_csrf_token_is_refused(api):
    api.csrf()
    response = api.post_json(
        "/auth/register/",
        {"email": "a@example.com", "password": "correct horse battery"},
        HTTP_X_CSRFTOKEN="x" * 64,
    )

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


@pytest.mark.parametrize(
    ("existing", "variant"),
    [
        ("mike@example.com", "MIKE@example.com"),
        ("kate@example.com", "\u212aate@example.com"),  # KELVIN SIGN folds to K, then k
        ("sam@example.com", "\u017fam@example.com"),  # LATIN SMALL LETTER LONG S folds to s
        ("office@example.com", "o\ufb03ce@example.com"),  # the ffi ligature folds to ffi
    ],
)
def test_compatibility_spellings_of_an_ascii_address_are_that_account(
    api, make_user, existing, variant
):
    make_user(email=existing)

    response = api.register(email=variant)

    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "lookalike",
    [
        "m\u0131ke@example.com",  # LATIN SMALL LETTER DOTLESS I
        "M\u0130KE@example.com",  # LATIN CAPITAL LETTER I WITH DOT ABOVE
        "mik\u0435@example.com",  # CYRILLIC SMALL LETTER IE
        "\u043cike@example.com",  # CYRILLIC SMALL LETTER EM
        "mi\u1d0be@example.com",  # LATIN LETTER SMALL CAPITAL K
        "mik\u00e9@example.com",  # an accented letter is another address, not a lookalike
        "\u0455am@example.com",  # CYRILLIC SMALL LETTER DZE, looks like s
    ],
)
def test_a_non_ascii_local_part_is_refused_with_a_field_error(api, make_user, lookalike):
    make_user(email="mike@example.com")

    response = api.post_json(
        "/auth/register/", {"email": lookalike, "password": "correct horse battery"}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert list(body["fields"]) == ["email"]
    assert User.objects.count() == 1


def test_the_admin_form_refuses_a_lookalike_local_part(make_user):
    from django.core.exceptions import ValidationError

    user = User(email="m\u0131ke@example.com")
    with pytest.raises(ValidationError) as caught:
        user.full_clean(exclude=["password"])

    assert "email" in caught.value.message_dict
