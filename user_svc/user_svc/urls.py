from django.urls import include, path
from users.urls import api_urlpatterns, well_known_urlpatterns

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(),
    path("api/v1/", include(api_urlpatterns)),
    path(".well-known/", include(well_known_urlpatterns)),
]

# handler400, handler403, handler404 and handler500: problem+json answers (shared.urls).
globals().update(HANDLERS)
