from django.urls import path

from users.api import (
    JwksApi,
    LogoutApi,
    MeApi,
    PasswordApi,
    RegisterApi,
    TokenApi,
    TokenRefreshApi,
    UserDetailApi,
    UserListApi,
)

api_urlpatterns = [
    path("auth/register", RegisterApi.as_view(), name="auth-register"),
    path("auth/token", TokenApi.as_view(), name="auth-token"),
    path("auth/token/refresh", TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("users", UserListApi.as_view(), name="user-list"),
    path("users/me", MeApi.as_view(), name="user-me"),
    path("users/me/password", PasswordApi.as_view(), name="user-me-password"),
    path("users/<str:user_id>", UserDetailApi.as_view(), name="user-detail"),
]

well_known_urlpatterns = [
    path("jwks.json", JwksApi.as_view(), name="jwks"),
]
