"""The user: email is the login, the id is a UUID, and ``role`` is what other services authorise on."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"


def normalize_email(email: str) -> str:
    """The form emails are stored and looked up in: trimmed and lower-cased (an address is one account)."""
    return BaseUserManager.normalize_email(email.strip()).lower()


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, role=Role.STAFF)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    is_active = models.BooleanField(default=True)
    # Django admin access (this service's staff site), distinct from the API role.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.email


class RefreshTokenFamilyMember(models.Model):
    """Which family a refresh token belongs to: every token rotated from one sign-in shares its family.

    A redeemed token presented again means two parties hold the family (a thief and the owner), and
    the server cannot tell which one is honest, so the whole family is revoked
    (:func:`users.tokens.refresh_token_family_revoke`). A row per outstanding token, deleted with it
    (``flushexpiredtokens``).
    """

    token = models.OneToOneField(
        "token_blacklist.OutstandingToken", on_delete=models.CASCADE, primary_key=True, related_name="family_member"
    )
    family = models.UUIDField(db_index=True)

    def __str__(self) -> str:
        return f"{self.token_id} in {self.family}"
