"""The gateway's own endpoints first (probes, metrics, admin, the merged API docs); then the catch-all
that checks and forwards the public API to the services."""

from django.urls import re_path
from gateway import proxy, views

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(schema=False, readyz=views.readyz),
    re_path(r"^api/schema/?$", views.openapi_schema, name="schema"),
    re_path(r"^api/docs/?$", views.api_docs, name="docs"),
    re_path(r"^(?:api/|\.well-known/)", proxy.forward, name="forward"),
]

# handler400, handler403, handler404 and handler500: problem+json answers (shared.urls).
globals().update(HANDLERS)
