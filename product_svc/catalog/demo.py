"""The demo catalog (``manage.py seed_demo``): five categories and fifty active products, always the same."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from catalog.selectors import product_skus_taken
from catalog.services import category_ensure, product_create

DEMO_CATEGORIES = [
    ("books", "Books"),
    ("electronics", "Electronics"),
    ("home-kitchen", "Home & Kitchen"),
    ("outdoors", "Outdoors"),
    ("toys", "Toys"),
]

_NAMES = {
    "books": [
        "The Pragmatic Gardener",
        "A Short History of Maps",
        "Cooking for Two",
        "The Night Train Mystery",
        "Field Guide to Birds",
        "Learning Python, Gently",
        "Poems of the Sea",
        "The Lighthouse Keeper",
        "Atlas of Small Islands",
        "Stargazing for Beginners",
    ],
    "electronics": [
        "Wireless Earbuds",
        "USB-C Charger 65W",
        "Mechanical Keyboard",
        "Bluetooth Speaker",
        "27-inch Monitor",
        "Noise-Cancelling Headphones",
        "Portable SSD 1TB",
        "Smart Plug",
        "Webcam 1080p",
        "Ergonomic Mouse",
    ],
    "home-kitchen": [
        "Chef's Knife",
        "Cast Iron Skillet",
        "French Press",
        "Bamboo Cutting Board",
        "Stand Mixer",
        "Glass Storage Set",
        "Linen Tea Towels",
        "Electric Kettle",
        "Ceramic Mug Set",
        "Spice Rack",
    ],
    "outdoors": [
        "Two-Person Tent",
        "Trekking Poles",
        "Insulated Water Bottle",
        "Headlamp",
        "Sleeping Bag",
        "Camping Stove",
        "Daypack 25L",
        "Rain Jacket",
        "Folding Chair",
        "First Aid Kit",
    ],
    "toys": [
        "Wooden Train Set",
        "Building Blocks 500",
        "Jigsaw Puzzle 1000",
        "Plush Bear",
        "Kite",
        "Marble Run",
        "Board Game Classics",
        "Toy Kitchen",
        "Remote Control Car",
        "Art Supplies Box",
    ],
}


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    price: Decimal
    category_slug: str


def demo_products() -> list[DemoProduct]:
    """Fifty products, ten per category, with SKUs DEMO-0001 to DEMO-0050 and prices from 4.99 to 199.99."""
    products = []
    for index in range(50):
        category_slug = DEMO_CATEGORIES[index % len(DEMO_CATEGORIES)][0]
        name = _NAMES[category_slug][index // len(DEMO_CATEGORIES)]
        price = Decimal(4 + (index * 37) % 196) + Decimal("0.99")
        products.append(DemoProduct(sku=f"DEMO-{index + 1:04}", name=name, price=price, category_slug=category_slug))
    return products


def demo_catalog_seed() -> int:
    """Creates whatever of the demo catalog is missing; returns how many products it created.

    Products go through :func:`product_create`, so each new one publishes ``product.created``
    and inventory gets its stock row; existing SKUs are left untouched.
    """
    for slug, name in DEMO_CATEGORIES:
        category_ensure(slug=slug, name=name)
    products = demo_products()
    taken = product_skus_taken(skus=[product.sku for product in products])
    created = 0
    for product in products:
        if product.sku in taken:
            continue
        product_create(
            sku=product.sku,
            name=product.name,
            price=product.price,
            description=f"Demo product: {product.name}.",
            category_slug=product.category_slug,
        )
        created += 1
    return created
