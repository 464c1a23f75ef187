from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.demo import DEMO_CATEGORIES, demo_catalog_seed


class Command(BaseCommand):
    help = "Creates the demo catalog (categories and about 50 products). Idempotent; never in production."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is never seeded in production.")
        created = demo_catalog_seed()
        self.stdout.write(f"demo categories: {len(DEMO_CATEGORIES)}; demo products created: {created}")
