from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import category_ensure

DEMO_CATEGORIES = [
    ("books", "Books"),
    ("electronics", "Electronics"),
    ("home-kitchen", "Home & Kitchen"),
    ("outdoors", "Outdoors"),
    ("toys", "Toys"),
]


class Command(BaseCommand):
    help = "Creates the demo catalog. Idempotent; never in production."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is never seeded in production.")
        for slug, name in DEMO_CATEGORIES:
            category_ensure(slug=slug, name=name)
        self.stdout.write(f"demo categories: {len(DEMO_CATEGORIES)}")
