"""rotate_signing_key and the retirement of keys whose tokens have all expired.

Key files are stamped with `authsvc.clock`, so `clock` comes before `keyring` in each test:
the first key is then made on the test's clock, like the later ones."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.tokens.conftest import JWKS_PATH, token_parts
from tokens.access import access_token_issue, access_token_verify
from tokens.exceptions import TokenInvalid
from tokens.keys import PUBLISH_DELAY, RESCAN_INTERVAL_SECONDS, Keyring, get_keyring
from tokens.rotation import signing_key_rotate, signing_keys_retirable, signing_keys_retire


def issue() -> str:
    token, _ = access_token_issue(
        user_id="8d4f1c1e-2b0a-4b8e-9c55-0e6f8a1d2c3b",
        sid="5b2c9f6a-1d3e-4f70-8a9b-2c4d6e8f0a1b",
        roles=[],
        email_verified=False,
        amr=["pwd"],
    )
    return token


def jwks_kids(client) -> set[str]:
    return {key["kid"] for key in client.get(JWKS_PATH).json()["keys"]}


def test_rotation_signs_new_tokens_with_the_new_key_and_keeps_old_ones_valid(
    clock, keyring, client, db
):
    old_kid = keyring.active.kid
    old_token = issue()

    new = signing_key_rotate()
    clock.advance(seconds=PUBLISH_DELAY.total_seconds())
    new_token = issue()

    assert new.kid != old_kid
    assert get_keyring().active.kid == new.kid
    assert token_parts(old_token)[0]["kid"] == old_kid
    assert token_parts(new_token)[0]["kid"] == new.kid
    assert access_token_verify(old_token)["sub"] == access_token_verify(new_token)["sub"]
    assert jwks_kids(client) == {old_kid, new.kid}


def test_the_old_key_is_retired_once_its_tokens_have_expired(clock, db, keyring, client, settings):
    old = keyring.active
    signing_key_rotate()
    assert signing_keys_retire() == []

    clock.advance(seconds=settings.AUTHSVC_ACCESS_TTL_SECONDS)
    assert signing_keys_retirable() == []  # still inside the clock-skew margin

    clock.advance(seconds=120)
    retired = signing_keys_retire()

    assert [key.kid for key in retired] == [old.kid]
    assert not old.path.exists()
    assert (old.path.parent / "retired" / old.path.name).exists()
    assert jwks_kids(client) == {get_keyring().active.kid}
    with pytest.raises(TokenInvalid):
        # A token of the retired key no longer verifies, whatever its claims say.
        clock.current = old.active_from
        access_token_verify(_signed_with(old))


def _signed_with(key) -> str:
    import jwt

    from authsvc import clock

    now = int(clock.now().timestamp())
    claims = {
        "iss": "authsvc",
        "aud": "authsvc",
        "sub": "8d4f1c1e-2b0a-4b8e-9c55-0e6f8a1d2c3b",
        "sid": "5b2c9f6a-1d3e-4f70-8a9b-2c4d6e8f0a1b",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
        "token_type": "access",
    }
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def test_each_key_retires_one_lifetime_after_its_successor_appeared(clock, db, keyring, settings):
    first = keyring.active
    second = signing_key_rotate()
    clock.advance(seconds=settings.AUTHSVC_ACCESS_TTL_SECONDS + 120)
    third = signing_key_rotate()

    # `first` stopped signing when `second` appeared, long enough ago; `second` just now.
    assert [k.kid for k in signing_keys_retire()] == [first.kid]
    assert {k.kid for k in get_keyring().published()} == {second.kid, third.kid}


def test_the_active_key_is_never_retired(clock, db, keyring):
    clock.advance(days=365)

    assert signing_keys_retire() == []
    assert get_keyring().active.path.exists()


def test_the_command_rotates_and_retires(clock, keyring, settings, client, db):
    old = keyring.active
    out = StringIO()

    call_command("rotate_signing_key", stdout=out)

    clock.advance(seconds=PUBLISH_DELAY.total_seconds())
    active = get_keyring().active
    assert f"New signing key {active.kid} (RS256)." in out.getvalue()
    assert "it signs from" in out.getvalue()
    assert jwks_kids(client) == {old.kid, active.kid}

    clock.advance(seconds=settings.AUTHSVC_ACCESS_TTL_SECONDS + 120)
    out = StringIO()
    call_command("rotate_signing_key", stdout=out)

    assert f"Retired key {old.kid}." in out.getvalue()
    assert old.kid not in jwks_kids(client)
    assert active.kid in jwks_kids(client)


def test_a_rotated_key_is_published_everywhere_before_any_process_signs_with_it(
    clock, keyring, client, db, settings
):
    # Another process on the same folder, which has not looked at it since it started.
    other = Keyring(keyring.directory, keyring.algorithm)
    old = keyring.active

    new = signing_key_rotate()

    # Published at once here, and by the other process at its next rescan (<= 5 s) ...
    assert jwks_kids(client) == {old.kid, new.kid}
    assert new.kid not in other.jwks()[0].decode()
    other._checked_at -= RESCAN_INTERVAL_SECONDS
    assert new.kid in other.jwks()[0].decode()
    # ... while neither signs with it until its activation time, PUBLISH_DELAY after the
    # rotation: longer than two rescans plus the clocks' margin.
    assert PUBLISH_DELAY.total_seconds() > 2 * RESCAN_INTERVAL_SECONDS
    assert new.active_from == clock.current + PUBLISH_DELAY
    for _ in range(int(PUBLISH_DELAY.total_seconds()) - 1):
        clock.advance(seconds=1)
        assert token_parts(issue())[0]["kid"] == old.kid
        assert other.active.kid == old.kid
    clock.current = new.active_from
    assert token_parts(issue())[0]["kid"] == new.kid
    assert other.active.kid == new.kid


def test_a_key_retired_while_a_process_loads_the_folder_is_skipped(clock, db, keyring, monkeypatch):
    import tokens.keys.files

    old = keyring.active
    new = signing_key_rotate()
    clock.advance(seconds=PUBLISH_DELAY.total_seconds())
    real_load_key = tokens.keys.files.load_key

    def retired_in_between(path):
        # Another process retires the old key after this one listed the folder.
        if path == old.path and path.exists():
            (path.parent / "retired").mkdir(exist_ok=True)
            path.rename(path.parent / "retired" / path.name)
        return real_load_key(path)

    monkeypatch.setattr(tokens.keys.files, "load_key", retired_in_between)

    keyring.reload()  # raised FileNotFoundError: a 500 on whatever request rescanned

    assert keyring.get(old.kid) is None
    assert keyring.active.kid == new.kid
    assert [k.kid for k in keyring.published()] == [new.kid]
