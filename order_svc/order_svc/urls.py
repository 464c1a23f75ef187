from carts.urls import api_urlpatterns as cart_urlpatterns
from django.urls import include, path
from orders.urls import api_urlpatterns as order_urlpatterns

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(),
    path("api/v1/", include(order_urlpatterns + cart_urlpatterns)),
]

# handler400, handler403, handler404 and handler500: problem+json answers (shared.urls).
globals().update(HANDLERS)
