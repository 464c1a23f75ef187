"""What the planner does with the list API's queries: which scans, on which indexes.

``manage.py explain_catalog`` prints it for a live database; a test asserts on it with a
generated catalog. Both read the plans of the very querysets :func:`catalog.selectors.product_list`
builds, so a change there that stops using an index shows up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from catalog.models import Product
from catalog.selectors import product_list

PAGE = 20  # the rows a first page fetches (the shared pagination's default size)
_BITMAP_PARTS = ("Bitmap Index Scan", "BitmapOr", "BitmapAnd")


@dataclass(frozen=True)
class PlanNode:
    node_type: str  # e.g. "Index Scan", "Bitmap Index Scan", "Seq Scan", "Sort"
    relation: str | None
    index: str | None

    def __str__(self) -> str:
        where = f" on {self.relation}" if self.relation else ""
        using = f" using {self.index}" if self.index else ""
        return f"{self.node_type}{where}{using}"


def list_queries(*, category: str, search: str) -> dict[str, QuerySet[Product, Any]]:
    """A first page and the whole match set (what the page count reads) of the filters that must stay fast."""
    by_category = product_list(category=category, ordering="price")
    by_search = product_list(search=search)
    return {
        "category, by price: first page": by_category[:PAGE],
        "category: every match": by_category.order_by().values("pk"),
        "search, newest first: first page": by_search[:PAGE],
        "search: every match": by_search.order_by().values("pk"),
    }


def plan_nodes(queryset: QuerySet[Any]) -> list[PlanNode]:
    """Every node of the plan PostgreSQL chooses for ``queryset`` (EXPLAIN, not run), outermost first."""
    document = json.loads(queryset.explain(format="json"))
    return list(_walk(document[0]["Plan"]))


def _walk(node: dict[str, Any], bitmap_of: str | None = None) -> Iterator[PlanNode]:
    """``bitmap_of``: the table of the Bitmap Heap Scan above, which its index scans (named no table) read."""
    kind = node["Node Type"]
    relation = node.get("Relation Name") or (bitmap_of if kind in _BITMAP_PARTS else None)
    yield PlanNode(kind, relation, node.get("Index Name"))
    below = relation if kind == "Bitmap Heap Scan" or kind in _BITMAP_PARTS else None
    for child in node.get("Plans", []):
        yield from _walk(child, below)
