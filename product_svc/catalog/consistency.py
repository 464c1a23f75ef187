"""What the catalog tells the consistency check (:mod:`shared.consistency`): its projection of inventory's
``available`` with the ``stock_version`` it came with. Imported at startup (``CatalogConfig.ready``)."""

from __future__ import annotations

from catalog.models import Product
from shared.consistency import facts_part


@facts_part("catalog")
def catalog_facts() -> dict[str, list[int]]:
    """``{product_id: [available, stock_version]}`` for every product, deleted ones too."""
    rows = Product.objects.order_by().values_list("id", "available", "stock_version")
    return {str(product_id): [available, version] for product_id, available, version in rows.iterator()}
