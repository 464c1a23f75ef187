from django.urls import include, path

from shared.urls import HANDLERS, common_urlpatterns

urlpatterns = [
    *common_urlpatterns(),
    path("api/v1/", include("payments.urls")),
]

handler400 = HANDLERS["handler400"]
handler403 = HANDLERS["handler403"]
handler404 = HANDLERS["handler404"]
handler500 = HANDLERS["handler500"]
