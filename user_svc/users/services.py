"""Writes to users."""

from __future__ import annotations

from users.models import Role, User


def user_ensure(
    *, email: str, password: str, role: str = Role.CUSTOMER, first_name: str = "", last_name: str = ""
) -> User:
    """The user with ``email``, created with these details if absent (demo data, idempotent)."""
    existing = User.objects.filter(email=email.lower()).first()
    if existing is not None:
        return existing
    return User.objects.create_user(
        email, password, role=role, first_name=first_name, last_name=last_name, is_staff=role == Role.STAFF
    )
