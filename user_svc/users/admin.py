"""The admin site writes through the same services as the API, so every change is announced by an event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from users.errors import OwnAccessChange
from users.models import Role, User
from users.services import user_reset_password, user_save_created, user_save_edited, user_set_access


class PasswordResetForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saving through the service, which signs the user out everywhere."""

    def save(self, commit: bool = True) -> User:
        usable = self.cleaned_data["set_usable_password"]
        saved = user_reset_password(user=self.user, new_password=self.cleaned_data["password1"] if usable else None)
        self.user.password = saved.password  # the admin keeps its own session when staff reset their own password
        return self.user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "first_name", "last_name", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    # The admin-site flags follow the role (users.services), so they are shown, not edited.
    readonly_fields = ["id", "date_joined", "last_login", "is_staff", "is_superuser"]
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "role")}),)
    actions = ["deactivate_users", "make_users_staff"]
    change_password_form = PasswordResetForm

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[User], change: bool) -> None:
        if change:
            user_save_edited(user=obj)
        else:
            user_save_created(user=obj)

    @admin.action(description="Deactivate selected users")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_access(request, queryset, "deactivated", is_active=False)

    @admin.action(description="Make selected users staff")
    def make_users_staff(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_access(request, queryset, "made staff", role=Role.STAFF)

    def _set_access(self, request: HttpRequest, queryset: QuerySet[User], done: str, **access: Any) -> None:
        changed_by = request.user if isinstance(request.user, User) else None
        try:
            with transaction.atomic():  # all or none, row locks taken in primary key order
                for user in queryset.order_by("pk"):
                    user_set_access(user=user, changed_by=changed_by, **access)
        except OwnAccessChange as exc:
            self.message_user(request, f"Nothing changed: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()} user(s) {done}.", messages.SUCCESS)
