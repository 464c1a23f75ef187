from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from catalog.query_plans import list_queries, plan_nodes


class Command(BaseCommand):
    help = "Prints the plans of the product list's category and search queries (EXPLAIN; nothing is run)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--category", default="books", help="A category slug to filter by (default: books).")
        parser.add_argument("--search", default="kettle", help="A search term (default: kettle).")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, queryset in list_queries(category=options["category"], search=options["search"]).items():
            self.stdout.write(f"{name}:")
            for node in plan_nodes(queryset):
                self.stdout.write(f"  {node}")
