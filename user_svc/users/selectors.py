"""Reads of users."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from users.models import User


def user_get(*, user_id: uuid.UUID) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_get_active(*, user_id: uuid.UUID) -> User | None:
    """The user if the account may still act (signs in, refreshes, calls the API); None otherwise."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def user_list(*, search: str = "") -> QuerySet[User]:
    """Newest first; ``search`` matches part of the email, first or last name, ignoring case."""
    users = User.objects.order_by("-date_joined", "id")
    term = search.strip()
    if term:
        users = users.filter(Q(email__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term))
    return users
