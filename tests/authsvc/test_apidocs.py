"""/api/schema/ serves the generated document (docs/openapi.yaml) as JSON or YAML, generated
once per process; /api/docs/ is Swagger UI whose assets come from this service, never from a
CDN."""

import json
import re
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

ON_DISK = settings.BASE_DIR / "docs" / "openapi.yaml"


def test_the_schema_is_json_by_default(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "Accept" in response["Vary"]
    assert json.loads(response.content) == yaml.safe_load(ON_DISK.read_bytes())


@pytest.mark.parametrize(
    ("query", "accept", "content_type"),
    [
        ("?format=json", "application/yaml", "application/json"),
        ("?format=yaml", "application/json", "application/yaml"),
        ("", "application/yaml", "application/yaml"),
        ("", "application/vnd.oai.openapi", "application/yaml"),
        ("", "application/vnd.oai.openapi+json", "application/json"),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
    ],
)
def test_the_schema_format_is_negotiated(client, query, accept, content_type):
    response = client.get(f"/api/schema/{query}", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    if content_type == "application/yaml":
        assert response.content == ON_DISK.read_bytes()


@pytest.mark.parametrize(("query", "accept"), [("?format=xml", "*/*"), ("", "text/html")])
def test_an_unavailable_format_is_a_json_406(client, query, accept):
    response = client.get(f"/api/schema/{query}", HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response.json()["error"] == "not_acceptable"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_other_methods_are_a_json_405(client, path):
    response = client.post(path)

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_swagger_ui_is_served_with_same_origin_assets_only(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert not re.search(r'(?:src|href)="(?:[a-z]+:)?//', html)
    urls = _asset_urls(html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        assert url.startswith(("/static/", "/api/docs/")), url


def test_every_asset_the_page_references_answers(client):
    html = client.get("/api/docs/").content.decode()

    for url in _asset_urls(html):
        asset = client.get(url)
        assert asset.status_code == 200, url
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert body, url


def test_the_start_up_script_points_at_the_schema(client):
    script = client.get("/api/docs/?script=")

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.content.decode()


def test_a_stale_access_cookie_does_not_break_the_page(client):
    client.cookies["access_token"] = "not-a-jwt"

    assert client.get("/api/docs/").status_code == 200


def test_the_document_is_generated_once_per_process(client, monkeypatch):
    from authsvc import apidocs

    calls = []

    def counting_generate():
        calls.append(1)
        return ON_DISK.read_bytes()

    monkeypatch.setattr(apidocs, "openapi_generate", counting_generate)
    apidocs.openapi_yaml.cache_clear()
    apidocs.openapi_json.cache_clear()
    try:
        for path in ("/api/schema/", "/api/schema/?format=yaml", "/openapi.yaml", "/api/schema/"):
            assert client.get(path).status_code == 200
    finally:
        apidocs.openapi_yaml.cache_clear()
        apidocs.openapi_json.cache_clear()

    assert calls == [1]
