"""The gateway's own endpoints first (probes, metrics, admin, the merged API docs); then the catch-all
that checks and forwards the public API to the services; then the storefront (gateway.storefront)."""

from django.urls import re_path
from gateway import proxy, storefront, views

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(schema=False, readyz=views.readyz),
    re_path(r"^api/schema/?$", views.openapi_schema, name="schema"),
    re_path(r"^api/docs/?$", views.api_docs, name="docs"),
    re_path(r"^(?:api/|\.well-known/)", proxy.forward, name="forward"),
    re_path(r"^$", storefront.shell, name="storefront"),
    re_path(r"^assets/(?P<version>[0-9a-f]{16})/(?P<name>[\w./-]+)$", storefront.asset, name="storefront-asset"),
    # A page of the storefront opened by its address (its router draws it); never a path the gateway owns.
    re_path(
        r"^(?!(?:api|\.well-known|admin|static|assets)(?:/|$))", storefront.page_or_not_found, name="storefront-page"
    ),
]

# handler400, handler403, handler404 and handler500: problem+json answers (shared.urls).
globals().update(HANDLERS)
