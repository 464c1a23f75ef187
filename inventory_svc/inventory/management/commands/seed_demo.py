from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inventory.demo import demo_stock_seed, demo_stock_wait


class Command(BaseCommand):
    help = (
        "Gives the demo products (SKU DEMO-...) 5 to 100 units each, once they have stock rows. "
        "Idempotent; never in production."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=60.0, help="Seconds to wait for the demo stock rows (default 60)."
        )
        parser.add_argument("--expect", type=int, default=50, help="How many demo stock rows to wait for (default 50).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is never seeded in production.")
        expect, timeout = options["expect"], options["timeout"]
        found = demo_stock_wait(expect=expect, timeout=timeout)
        if found < expect:
            raise CommandError(
                f"Only {found} of {expect} demo stock rows after {timeout:g}s. They are created from product.created: "
                "seed the catalog (product_svc seed_demo) and check that this service's consumer and product_svc's "
                "relay are running, then run this again."
            )
        stocked = demo_stock_seed()
        self.stdout.write(f"demo stock rows: {found}; stocked now: {stocked}")
