"""Writes to users. Each change and the events announcing it commit in one transaction (the outbox).

Every change to an existing user goes through :func:`_announce`, the one place that decides what
a change means for other services: ``user.updated`` when a published field changed, and also
``user.deactivated`` (with the user signed out everywhere, :func:`_sign_out_everywhere`) when the
account stopped being active, or the user's access tokens revoked when the staff role was taken away.
Writes re-read the row under ``select_for_update`` so the event describes what was committed.

This service's admin site follows the role, in every write here (:func:`_follow_role`): a staff-role
user is ``is_staff`` and ``is_superuser`` (staff operate the back office, as in every other service's
admin, see ``shared.admin_auth``), anyone else is neither. Taking the staff role away therefore locks
the user out of this admin at their next request, as deactivation does.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shared.errors import Conflict, InvalidInput
from shared.events import Envelope, publish, rfc3339
from users.errors import OwnAccessChange
from users.models import Role, User, normalize_email
from users.tokens import access_tokens_revoke, refresh_tokens_revoke_all

# The fields user.updated carries (with user_id); a change to any of them is announced.
PUBLISHED_FIELDS = ("email", "first_name", "last_name", "role", "is_active")


def user_register(
    *, email: str, password: str, first_name: str = "", last_name: str = "", role: str = Role.CUSTOMER
) -> User:
    """Creates a user and publishes ``user.registered`` with it.

    Raises :class:`~shared.errors.InvalidInput` when the password fails the configured
    validators and :class:`~shared.errors.Conflict` when the email is taken; nothing is
    written then. The unique index decides, so two concurrent registrations of one address
    cannot both succeed.
    """
    email = normalize_email(email)
    candidate = User(email=email, first_name=first_name, last_name=last_name, role=role)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvalidInput("The password is too weak.", errors={"password": list(exc.messages)}) from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email, password, first_name=first_name, last_name=last_name, role=role, **_admin_access(role)
            )
            publish(Envelope(type="user.registered", key=str(user.id), payload=_registered_payload(user)))
    except IntegrityError:
        if User.objects.filter(email=email).exists():
            raise Conflict("An account with this email already exists; sign in instead.") from None
        raise
    return user


def user_ensure(
    *, email: str, password: str, role: str = Role.CUSTOMER, first_name: str = "", last_name: str = ""
) -> User:
    """The user with ``email``, registered with these details if absent (demo data, idempotent)."""
    existing = User.objects.filter(email=normalize_email(email)).first()
    if existing is not None:
        return existing
    return user_register(email=email, password=password, first_name=first_name, last_name=last_name, role=role)


def user_update_profile(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Changes the user's own names (None leaves one as it is); returns the user as saved."""
    return _user_change(user=user, changes={"first_name": first_name, "last_name": last_name})


def user_set_access(
    *, user: User, role: str | None = None, is_active: bool | None = None, changed_by: User | None = None
) -> User:
    """Staff's change of what a user may do: the API ``role`` and whether the account is active.

    ``changed_by``, the staff member making the change, may not change their own access
    (:class:`~users.errors.OwnAccessChange`): the last staff member would lock everyone out.

    Deactivation signs the user out everywhere (refresh and access tokens); taking the staff role
    away revokes their access tokens, which carry the role (a refresh mints one with the new role).
    Access tokens are refused by the gateway and every service within a second or two
    (:mod:`shared.revocations`). This service's admin site follows the role (``is_staff``); every
    other admin re-checks the account within ``ADMIN_STAFF_RECHECK_SECONDS`` (``shared.admin_auth``).
    """
    if changed_by is not None and changed_by.pk == user.pk and (role is not None or is_active is not None):
        raise OwnAccessChange("Your own role and account stay as they are; ask another staff member.")
    if role is not None and role not in Role.values:
        raise InvalidInput(f"{role!r} is not a role.", errors={"role": [f"Choose one of {', '.join(Role.values)}."]})
    return _user_change(user=user, changes={"role": role, "is_active": is_active})


def user_change_password(*, user: User, old_password: str, new_password: str) -> None:
    """Sets a new password after checking the current one and signs the user out everywhere.

    Raises :class:`~shared.errors.InvalidInput` naming ``old_password`` (wrong) or ``new_password`` (too weak).
    """
    if not user.check_password(old_password):
        raise InvalidInput("The current password is wrong.", errors={"old_password": ["The password is wrong."]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise InvalidInput("The new password is too weak.", errors={"new_password": list(exc.messages)}) from exc
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        _sign_out_everywhere(user=locked)


def user_reset_password(*, user: User, new_password: str | None) -> User:
    """Staff's setting of a user's password (the admin), None making it unusable; signs the user out everywhere.

    The password was validated by the caller (the admin's form). Returns the user as saved.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if new_password is None:
            locked.set_unusable_password()
        else:
            locked.set_password(new_password)
        locked.save(update_fields=["password"])
        _sign_out_everywhere(user=locked)
    return locked


def user_save_created(*, user: User) -> None:
    """Saves a user built elsewhere (the admin's add form, password already set) and publishes ``user.registered``."""
    user.email = normalize_email(user.email)
    _follow_role(user)
    with transaction.atomic():
        user.save()
        publish(Envelope(type="user.registered", key=str(user.id), payload=_registered_payload(user)))


def user_save_edited(*, user: User) -> None:
    """Saves a user edited in place (the admin's change form) and announces the change like every other write."""
    user.email = normalize_email(user.email)
    _follow_role(user)
    with transaction.atomic():
        before = _published_payload(User.objects.select_for_update().get(pk=user.pk))
        user.save()
        _announce(before=before, user=user)


def _user_change(*, user: User, changes: dict[str, Any]) -> User:
    """Applies the non-None ``changes`` to the locked row; saves and announces only what really changed."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = _published_payload(locked)
        changed = [name for name, value in changes.items() if value is not None and getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, changes[name])
        changed += _follow_role(locked)
        if changed:
            locked.save(update_fields=changed)
            _announce(before=before, user=locked)
    return locked


def _admin_access(role: str) -> dict[str, bool]:
    """This service's admin-site flags for a user of ``role``: staff operate the back office, no one else."""
    staff = role == Role.STAFF
    return {"is_staff": staff, "is_superuser": staff}


def _follow_role(user: User) -> list[str]:
    """Sets the admin-site flags ``user``'s role calls for; the names of the fields that changed."""
    wanted = _admin_access(user.role)
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    return changed


def _announce(*, before: dict[str, Any], user: User) -> None:
    """Publishes what the change from ``before`` to ``user`` means; call inside the transaction that saved it."""
    after = _published_payload(user)
    if after == before:
        return
    publish(Envelope(type="user.updated", key=str(user.id), payload=after))
    if before["is_active"] and not user.is_active:
        publish(Envelope(type="user.deactivated", key=str(user.id), payload={"user_id": str(user.id)}))
        _sign_out_everywhere(user=user)
    elif before["role"] == Role.STAFF and user.role != Role.STAFF:
        # The access tokens carry the staff role; the next refresh mints them with the new one.
        access_tokens_revoke(user_id=user.id)


def _sign_out_everywhere(*, user: User) -> None:
    """Ends every session of ``user``: refresh tokens revoked, access tokens refused everywhere within seconds.

    Call inside the transaction that holds the user's row lock (refreshes take it too, so none slips
    between the two).
    """
    refresh_tokens_revoke_all(user=user)
    access_tokens_revoke(user_id=user.id)


def _published_payload(user: User) -> dict[str, Any]:
    return {"user_id": str(user.id)} | {name: _plain(getattr(user, name)) for name in PUBLISHED_FIELDS}


def _plain(value: Any) -> Any:
    """Enum members (a Role) as their plain value, so payloads compare and serialise as JSON does."""
    return str(value) if isinstance(value, str) else value


def _registered_payload(user: User) -> dict[str, Any]:
    return _published_payload(user) | {"date_joined": rfc3339(user.date_joined)}
