"""The list API's category and search queries use indexes on a catalog of realistic size, not a table scan."""

import random
import time
from decimal import Decimal

import pytest
from django.contrib.postgres.indexes import GinIndex
from django.core.management import call_command
from django.db import connection

from catalog.models import Category, Product
from catalog.query_plans import list_queries, plan_nodes

pytestmark = pytest.mark.django_db

PRODUCTS = 20_000
CATEGORIES = 40
WORDS = [
    "alpine", "amber", "arctic", "basic", "bold", "bright", "classic", "compact", "copper", "cosy", "crisp",
    "deluxe", "eco", "electric", "everyday", "field", "fresh", "garden", "grand", "handy", "heavy", "indoor",
    "iron", "junior", "large", "light", "linen", "little", "lunar", "marine", "metro", "mini", "modern",
    "natural", "nordic", "outdoor", "pocket", "portable", "premium", "prime", "pro", "pure", "quick", "rapid",
    "retro", "rugged", "simple", "slim", "smart", "solar", "solid", "sport", "steel", "studio", "summer",
    "super", "swift", "travel", "ultra", "urban", "vintage", "wild", "wooden",
]  # fmt: skip
NOUNS = [
    "bag", "bottle", "chair", "desk", "kettle", "lamp", "mug", "pan", "pen", "rack", "shelf", "stool", "table",
    "tent", "towel", "tray", "vase",
]  # fmt: skip
RARE = "zanzibarite"  # in five descriptions only


@pytest.fixture
def big_catalog():
    """20k products in 40 categories, inserted in bulk, with fresh planner statistics."""
    started = time.monotonic()
    rng = random.Random(7)
    categories = Category.objects.bulk_create(
        Category(slug=f"category-{n:02}", name=f"Category {n:02}") for n in range(CATEGORIES)
    )
    products = []
    for n in range(PRODUCTS):
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {rng.choice(NOUNS)}"
        description = " ".join(rng.choice(WORDS) for _ in range(12))
        if n % 4000 == 1:
            description += f" {RARE}"
        products.append(
            Product(
                sku=f"SKU-{n:06}",
                name=name,
                description=description,
                price=Decimal(rng.randrange(100, 100_000)) / 100,
                category=categories[n % CATEGORIES],
                is_active=n % 10 != 0,
                available=rng.choice((0, 0, 3, 10, 40)),
            )
        )
    Product.objects.bulk_create(products, batch_size=5000)
    with connection.cursor() as cursor:
        # Rows inserted into a GIN index first wait in its pending list, which every search must read
        # through (and the planner prices so); autovacuum moves them into the index proper, as here.
        for index in Product._meta.indexes:
            if isinstance(index, GinIndex):
                cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index.name])
        cursor.execute("ANALYZE catalog_category")
        cursor.execute("ANALYZE catalog_product")
    return time.monotonic() - started


def product_scans(queryset) -> list[str]:
    """The plan's nodes that read catalog_product, as "<node type> using <index>" ("<node type>" without one)."""
    return [
        f"{node.node_type} using {node.index}" if node.index else node.node_type
        for node in plan_nodes(queryset)
        if node.relation == "catalog_product"
    ]


def test_category_and_search_queries_use_indexes(big_catalog):
    queries = list_queries(category="category-07", search=RARE)
    scans = {name: product_scans(queryset) for name, queryset in queries.items()}

    for name, reads in scans.items():
        assert reads, f"{name}: no scan of catalog_product in the plan"
        assert not [read for read in reads if read.startswith("Seq Scan")], f"{name}: {reads}"
    assert "Bitmap Index Scan using product_category_active_idx" in scans["category: every match"]
    for name in ("search, newest first: first page", "search: every match"):
        # A bitmap OR over the trigram indexes of the three columns searched.
        assert {read for read in scans[name] if "trgm" in read} == {
            "Bitmap Index Scan using product_sku_trgm_idx",
            "Bitmap Index Scan using product_name_trgm_idx",
            "Bitmap Index Scan using product_description_trgm_idx",
        }, scans[name]
    assert big_catalog < 15, f"loading took {big_catalog:.1f}s"


def test_the_plans_find_what_the_api_returns(big_catalog, client):
    body = client.get("/api/v1/products", {"search": RARE.upper(), "page_size": 100}).json()

    # Every 4000th product carries the word, and every 10th product (n % 10 == 0) is inactive.
    assert sorted(item["sku"] for item in body["results"]) == [f"SKU-{n:06}" for n in (1, 4001, 8001, 12001, 16001)]


def test_explain_catalog_prints_each_plan(big_catalog, capsys):
    call_command("explain_catalog", "--category", "category-07", "--search", RARE)

    output = capsys.readouterr().out
    assert "category, by price: first page:\n" in output
    assert "Bitmap Index Scan on catalog_product using product_name_trgm_idx" in output
    assert "Seq Scan on catalog_product" not in output
