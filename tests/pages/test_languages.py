"""The pages and the emails speak English and French (Accept-Language, or the switcher's
cookie); the API's JSON stays English whatever the browser asks. The compiled catalogues
committed under locale/ are those of the .po files."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from tests.conftest import DEFAULT_PASSWORD, AuthClient
from tests.pages.conftest import PageClient

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"


def test_english_by_default(browser):
    response = browser.get("/login/")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert response["Content-Language"] == "en"


def test_french_from_accept_language(browser):
    response = browser.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter" in html and "Mot de passe oublié ?" in html
    assert response["Content-Language"] == "fr"
    assert "Accept-Language" in response["Vary"]


def test_errors_speak_the_pages_language(browser, user):
    response = browser.submit(
        "/login/", {"email": user.email, "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "L&#x27;adresse e-mail ou le mot de passe est incorrect." in response.content.decode()
    weak = browser.submit(
        "/register/", {"email": "x@example.com", "password": "password"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    # Django's own validators' messages, from Django's French catalogue.
    assert "Ce mot de passe est trop courant." in weak.content.decode()


def test_the_switcher_sets_the_language_and_stays_on_the_page(browser):
    page = browser.get("/password/reset/").content.decode()
    assert 'action="/i18n/setlang/" method="post"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    response = browser.submit("/i18n/setlang/", {"language": "fr", "next": "/password/reset/"})
    assert response.status_code == 302
    assert response["Location"] == "/password/reset/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    # The cookie wins over the browser's Accept-Language.
    html = browser.get("/password/reset/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Réinitialiser votre mot de passe" in html


def test_the_switcher_needs_the_csrf_token_and_never_leaves_the_site(browser):
    assert browser.post("/i18n/setlang/", {"language": "fr"}).status_code == 403
    response = browser.submit("/i18n/setlang/", {"language": "fr", "next": "https://evil.com/"})
    assert response["Location"] == "/"


def test_the_api_stays_english(api):
    response = api.post_json(
        "/auth/register/",
        {"email": "y@example.com", "password": "password"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert "This password is too common." in response.json()["fields"]["password"]
    assert "Content-Language" not in response
    assert "Accept-Language" not in response.get("Vary", "")


def test_a_french_page_does_not_leave_french_behind_for_the_api(browser, api):
    browser.get("/login/", HTTP_ACCEPT_LANGUAGE="fr")
    response = api.post_json("/auth/register/", {"email": "z@example.com", "password": "password"})
    assert "This password is too common." in response.json()["fields"]["password"]


def test_emails_are_written_in_the_language_of_the_page(browser):
    browser.submit(
        "/register/",
        {"email": "f@example.com", "password": DEFAULT_PASSWORD, "name": "Fanny"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    message = mail.outbox[0]
    assert message.subject == "Confirmez votre adresse e-mail pour authsvc"
    assert message.body.startswith("Bonjour Fanny,")
    html = message.alternatives[0][0]
    assert '<html lang="fr">' in html and "Confirmer mon adresse e-mail" in html
    # The API's registrations keep the default language.
    AuthClient().register(email="e@example.com", name="Ed")
    assert mail.outbox[1].subject == "Confirm your email address for authsvc"
    assert mail.outbox[1].body.startswith("Hello Ed,")


def _po_entries(path: Path) -> dict:
    entries, current, key = {}, None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current = {"msgid": ast.literal_eval(line[6:]), "msgstr": ""}
            key = "msgid"
        elif line.startswith("msgid_plural "):
            key = None
            current["plural"] = True
        elif line.startswith("msgstr ") or line.startswith("msgstr[0] "):
            current["msgstr"] = ast.literal_eval(line.split(" ", 1)[1])
            key = "msgstr"
            entries[current["msgid"]] = current
        elif line.startswith("msgstr["):
            key = None
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
    return entries


@pytest.mark.parametrize("language", ["fr"])
def test_every_message_is_translated_and_compiled(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), "run `make messages` and commit the .mo"
    # msgfmt leaves fuzzy entries (makemessages' guesses) out of the .mo.
    assert "#, fuzzy" not in po.read_text(encoding="utf-8"), "review the fuzzy entries"
    catalogue = gettext.GNUTranslations(mo.open("rb"))
    entries = {k: v for k, v in _po_entries(po).items() if k}
    assert entries
    untranslated = [k for k, v in entries.items() if not v["msgstr"]]
    assert not untranslated
    stale = [k for k, v in entries.items() if catalogue.gettext(k) != v["msgstr"]]
    assert not stale, "the .mo is older than the .po: run `make messages`"
    # Placeholders survive translation.
    for msgid, entry in entries.items():
        assert sorted(re.findall(r"%\(\w+\)[sd]", msgid)) == sorted(
            re.findall(r"%\(\w+\)[sd]", entry["msgstr"])
        ), msgid


@pytest.mark.parametrize(
    ("path", "english"),
    [
        ("/login/", ("Sign in", "Password", "Forgot", "Create an account", "Language")),
        ("/register/", ("At least", "passphrase", "optional", "Name")),
        ("/password/reset/", ("Reset", "Email", "Send")),
        ("/login/", ("Email me a sign-in code",)),
        ("/login/code/", ("Sign in with a code", "Email", "password needed", "Back")),
    ],
)
def test_no_english_left_on_the_french_pages(path, english):
    html = PageClient().get(path, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    for word in english:
        assert word not in text, word
