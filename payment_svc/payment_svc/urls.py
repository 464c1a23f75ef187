from django.urls import include, path

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(),
    path("api/v1/", include("payments.urls")),
]

# handler400, handler403, handler404 and handler500: problem+json answers (shared.urls).
globals().update(HANDLERS)
