"""``next`` and ``previous`` point at the public address (the gateway), never at the service's own port."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from catalog.tests.factories import ProductFactory
from shared.settings import public_base_url

pytestmark = pytest.mark.django_db

URL = "/api/v1/products"


def test_page_links_are_under_the_public_base_url_with_the_query_kept(anonymous, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example/store/"
    ProductFactory.create_batch(5)

    middle = anonymous.get(URL, {"page_size": 2, "page": 2, "ordering": "name"}).json()

    assert middle["next"] == "https://shop.example/store/api/v1/products?ordering=name&page=3&page_size=2"
    assert middle["previous"] == "https://shop.example/store/api/v1/products?ordering=name&page_size=2"


def test_by_default_links_name_the_gateway_not_this_service(anonymous, settings):
    ProductFactory.create_batch(3)

    first = anonymous.get(URL, {"page_size": 2}).json()

    assert first["next"] == f"{settings.SERVICE_URLS['gateway']}/api/v1/products?page=2&page_size=2"
    assert settings.SERVICE_URLS["gateway"] != settings.SERVICE_URLS["product"]


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://shop.example", "https://", "https://shop.example/?x=1"])
def test_a_public_base_url_that_is_not_an_http_address_stops_start_up(monkeypatch, url):
    monkeypatch.setenv("PUBLIC_BASE_URL", url)

    with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
        public_base_url(default="http://127.0.0.1:8000")
