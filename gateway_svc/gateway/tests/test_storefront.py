"""The storefront served by the gateway: the shell, its fingerprinted assets, their caching and the CSP."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

from gateway import storefront
from gateway.storefront import CONTENT_SECURITY_POLICY, IMMUTABLE, current, storefront_load

pytestmark = pytest.mark.django_db


class ScriptTags(HTMLParser):
    """Every <script> of a page: its attributes and the text inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = {"attrs": dict(attrs), "text": ""}
            self.scripts.append(self._open)
        elif any(name.startswith("on") for name, _ in attrs):
            self.scripts.append({"attrs": dict(attrs), "text": f"inline handler on <{tag}>"})

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def scripts_of(html: str) -> list[dict]:
    parser = ScriptTags()
    parser.feed(html)
    return parser.scripts


@pytest.fixture
def own_storefront(tmp_path: Path, settings):
    """A storefront of two files in a folder of the test's own, served by the gateway instead of the real one."""
    (tmp_path / "index.html").write_text('<script type="module" src="{{assets}}/app.js"></script>')
    (tmp_path / "app.js").write_text("export const version = 1;\n")
    settings.STOREFRONT_DIR = str(tmp_path)
    storefront.current.cache_clear()
    yield tmp_path
    storefront.current.cache_clear()


def test_root_serves_the_shell_with_the_csp_and_no_cache(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    policy = dict(part.split(" ", 1) for part in response["Content-Security-Policy"].split("; "))
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert b'id="main"' in response.content


def test_the_shell_has_no_inline_script_and_loads_only_fingerprinted_modules(client):
    html = client.get("/").content.decode()

    scripts = scripts_of(html)
    assert scripts, "the shell loads no script at all"
    for script in scripts:
        assert script["text"].strip() == "", f"inline script: {script}"
        assert script["attrs"].get("src", "").startswith(f"/assets/{current().version}/"), script
    assert "{{assets}}" not in html


def test_an_asset_is_served_with_immutable_caching(client):
    response = client.get(f"/assets/{current().version}/js/app.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.content == (Path(storefront.settings.STOREFRONT_DIR) / "js" / "app.js").read_bytes()


def test_every_file_the_shell_names_is_served(client):
    html = client.get("/").content.decode()
    version = current().version
    named = {part.split('"')[0] for part in html.split(f"/assets/{version}/")[1:]}

    assert {"app.css", "favicon.svg", "js/app.js"} <= named
    for name in named:
        assert client.get(f"/assets/{version}/{name}").status_code == 200, name


def test_an_asset_of_another_version_is_404_problem_json(client):
    response = client.get("/assets/0123456789abcdef/js/app.js")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "Cache-Control" not in response or "immutable" not in response["Cache-Control"]


def test_an_unknown_asset_is_404_problem_json(client):
    response = client.get(f"/assets/{current().version}/js/nothing.js")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_fingerprint_changes_when_a_file_changes(own_storefront, client):
    before = current().version
    assert client.get(f"/assets/{before}/app.js").content == b"export const version = 1;\n"

    (own_storefront / "app.js").write_text("export const version = 2;\n")
    storefront.current.cache_clear()  # what a restarted gateway does
    after = current().version

    assert after != before
    assert client.get(f"/assets/{after}/app.js").content == b"export const version = 2;\n"
    assert client.get(f"/assets/{before}/app.js").status_code == 404
    assert f'src="/assets/{after}/app.js"'.encode() in client.get("/").content


def test_the_fingerprint_does_not_change_while_the_files_do_not(own_storefront):
    assert storefront_load(directory=own_storefront).version == storefront_load(directory=own_storefront).version


def test_a_file_of_a_type_it_cannot_serve_stops_the_load(own_storefront):
    (own_storefront / "notes.txt").write_text("not served")

    with pytest.raises(ValueError, match=r"notes\.txt"):
        storefront_load(directory=own_storefront)


def test_the_shell_answers_304_to_its_own_etag(client):
    etag = client.get("/")["ETag"]

    response = client.get("/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_storefront_page_opened_by_its_address_gets_the_shell(client):
    response = client.get("/orders/6f1c8a52-2b1e-4a57-9a3f-0c2d4f5e6a7b", HTTP_ACCEPT="text/html,application/xhtml+xml")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_an_unknown_path_is_still_problem_json_for_clients_that_do_not_ask_for_html(client):
    response = client.get("/orders/anything", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_post_to_a_storefront_page_is_404_problem_json(client):
    response = client.post("/checkout", data=b"{}", content_type="application/json", HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/admin/nothing-here/", "/static/nothing.css", "/assets/x"])
def test_the_gateways_own_paths_never_get_the_shell(client, path):
    response = client.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code in (302, 404), response.content  # the admin sends the anonymous to its login
    assert response.content != current().shell


def test_admin_without_its_slash_still_redirects_to_the_admin(client):
    response = client.get("/admin", HTTP_ACCEPT="text/html")

    assert response.status_code == 301
    assert response["Location"] == "/admin/"


def test_api_paths_still_forward(client, upstreams):
    response = client.get("/api/v1/products?search=lamp", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    (seen,) = upstreams["product"].requests
    assert seen["path"] == "/api/v1/products?search=lamp"
