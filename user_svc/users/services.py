"""Writes to users. Each change and the event announcing it commit in one transaction (the outbox)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from shared.events import Envelope, publish, rfc3339
from users.models import Role, User


def user_register(
    *, email: str, password: str, first_name: str = "", last_name: str = "", role: str = Role.CUSTOMER
) -> User:
    """Creates a user and publishes ``user.registered`` with it.

    Raises ``django.core.exceptions.ValidationError`` when the password fails the
    configured validators (nothing is written then), and ``IntegrityError`` when
    the email is taken: the unique index decides, so two concurrent registrations
    of one address cannot both succeed. The caller maps that to 409.
    """
    candidate = User(email=email, first_name=first_name, last_name=last_name, role=role)
    validate_password(password, user=candidate)
    with transaction.atomic():
        user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name, role=role)
        publish(Envelope(type="user.registered", key=str(user.id), payload=_registered_payload(user)))
    return user


def user_ensure(
    *, email: str, password: str, role: str = Role.CUSTOMER, first_name: str = "", last_name: str = ""
) -> User:
    """The user with ``email``, registered with these details if absent (demo data, idempotent).

    Staff-role users also get this service's admin site (``is_staff``), which
    :func:`user_register` never grants on its own.
    """
    existing = User.objects.filter(email=email.lower()).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        user = user_register(email=email, password=password, first_name=first_name, last_name=last_name, role=role)
        if role == Role.STAFF:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return user


def _registered_payload(user: User) -> dict[str, object]:
    return {
        "user_id": str(user.id),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": str(user.role),
        "is_active": user.is_active,
        "date_joined": rfc3339(user.date_joined),
    }
