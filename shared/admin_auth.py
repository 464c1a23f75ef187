"""One back office: staff sign into every service's admin with their user_svc email and password.

:class:`StaffBackend` is an authentication backend for the gateway, product, order and inventory
admins (``AUTHENTICATION_BACKENDS`` in :mod:`shared.settings`). It keeps no passwords: a sign-in
asks user_svc (``UserService.AuthenticateStaff`` over gRPC, which applies the same failed sign-in
throttle as the token endpoint), and a staff member gets a local Django user, ``is_staff`` and
``is_superuser`` (staff operate the back office), with an unusable password, linked to the user_svc
id by a :class:`~shared.models.StaffAccount`. Customers and unknown users are refused.

Open sessions follow user_svc: when a request's user was last confirmed more than
``ADMIN_STAFF_RECHECK_SECONDS`` ago, :meth:`StaffBackend.get_user` asks ``UserService.GetUser``
again. A deactivated account, or one that is no longer staff, is made inactive here and the
session is signed out at once.

When user_svc cannot answer a re-check (down, or past the deadline), an open session is kept for
``ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS`` after the last successful check, so a restart of user_svc
does not sign every operator out; after that it is refused until user_svc answers again, because
a deactivation made meanwhile could not be seen. Nothing is changed locally while user_svc is
unreachable. A new sign-in needs user_svc; when it is down, accounts made here with
``createsuperuser`` (:class:`ThrottledLocalBackend`, listed after this backend) still sign in, for
emergencies, behind the same failed sign-in throttle as user_svc's (:func:`shared.ratelimit.sign_in_wait`,
in this service's database).

user_svc's own admin does not use this backend: its users are local, and ``is_staff`` there follows
the staff role (``users.services``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from protos.user.v1 import user_pb2, user_pb2_grpc
from shared.grpc_client import call, channel
from shared.models import StaffAccount
from shared.ratelimit import sign_in_failed, sign_in_succeeded, sign_in_wait

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # the configured user model, as django-stubs names it

logger = logging.getLogger(__name__)

# Checking a password hashes it (slow on purpose), so a sign-in may take longer than a lookup.
SIGN_IN_DEADLINE_SECONDS = 5.0
RECHECK_DEADLINE_SECONDS = 2.0
STAFF_ROLE = "staff"
# user_svc's answers to AuthenticateStaff that mean "not a staff member with this password".
REFUSED_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})


class StaffBackend(BaseBackend):
    """Signs user_svc staff into this service's admin; re-checks their account while the session lasts."""

    def authenticate(  # the admin's login form passes the email as ``username``
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> _User | None:
        if not username or not password:
            return None
        client_address = str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""
        remote = staff_authenticate(email=username, password=password, client_address=client_address)
        return staff_account_sync(remote=remote) if remote is not None else None

    def get_user(self, user_id: Any) -> _User | None:
        """The session's user: staff after :func:`staff_account_recheck`; a local account as ModelBackend would.

        Local accounts are served too because Django's ``force_login`` (tests, tools) files a session
        under the first backend in the list, which is this one.
        """
        user = get_user_model()._default_manager.select_related("staff_account").filter(pk=user_id).first()
        if user is None or not user.is_active:
            return None
        account: StaffAccount | None = getattr(user, "staff_account", None)
        if account is None:
            return user
        return user if staff_account_recheck(account=account) else None


class ThrottledLocalBackend(ModelBackend):
    """This service's own admin accounts (``createsuperuser``), with failed sign-ins throttled.

    The same scheme as every user_svc sign-in (:mod:`shared.ratelimit`), in this service's database:
    without it, the one admin login user_svc does not see could be guessed at without limit.
    While the throttle refuses, the form says so (a ValidationError) and the password is not checked.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> _User | None:
        if not username or not password:
            return None
        account = username.strip().lower()
        client_address = str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""
        wait = sign_in_wait(account=account, client_address=client_address)
        if wait:
            logger.warning("local admin sign-in blocked for %s from %s: too many failures", account, client_address)
            raise ValidationError(f"Too many failed sign-ins; try again in {wait} s.", code="throttled")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failed(account=account, client_address=client_address)
            logger.warning("failed local admin sign-in for %s from %s", account, client_address)
        else:
            sign_in_succeeded(account=account, client_address=client_address)
        return user


def staff_remote_id(*, user: Any) -> uuid.UUID | None:
    """The user_svc id of the staff member signed in as ``user``; None for a local account (or anonymous)."""
    account: StaffAccount | None = getattr(user, "staff_account", None)
    return account.remote_id if account is not None else None


def staff_authenticate(*, email: str, password: str, client_address: str) -> user_pb2.User | None:
    """user_svc's staff account with these credentials; None when user_svc refuses them or cannot answer.

    Raises :class:`~django.core.exceptions.ValidationError` while user_svc throttles sign-ins for this
    email or address, so the admin's login form says so (and no other backend is tried). When user_svc
    is unreachable the answer is None, so ``ModelBackend`` can still sign in a local emergency account.
    """
    stub = user_pb2_grpc.UserServiceStub(channel("user"))
    request = user_pb2.AuthenticateStaffRequest(email=email, password=password, client_address=client_address)
    try:
        return call(stub.AuthenticateStaff, request, deadline=SIGN_IN_DEADLINE_SECONDS)
    except grpc.RpcError as exc:
        code = _code(exc)
        if code in REFUSED_CODES:
            logger.info("back-office sign-in refused for %s by user_svc: %s", email, code.name)
            return None
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            # user_svc's message says when to retry.
            raise ValidationError(
                exc.details() or "Too many failed sign-ins; try again later.", code="throttled"
            ) from None
        logger.warning("back-office sign-in for %s could not be checked: user_svc answered %s", email, code.name)
        return None


def staff_account_sync(*, remote: user_pb2.User) -> _User | None:
    """The local admin user of the user_svc staff member ``remote``, made or updated to match and active.

    The local username is the email. None (and an error in the log) when a local account that is
    not this staff member's, such as one made with ``createsuperuser``, already has that username:
    it is never taken over.
    """
    user_model = get_user_model()
    remote_id = uuid.UUID(remote.id)
    longest = getattr(user_model._meta.get_field(user_model.USERNAME_FIELD), "max_length", None)
    if longest is not None and len(remote.email) > longest:
        logger.error("back-office sign-in of %s refused: longer than a local username (%d)", remote.email, longest)
        return None
    profile: dict[str, Any] = {
        user_model.USERNAME_FIELD: remote.email,
        "email": remote.email,
        "first_name": remote.first_name,
        "last_name": remote.last_name,
        "is_active": True,
        "is_staff": True,
        "is_superuser": True,
    }
    try:
        with transaction.atomic():
            account = (
                StaffAccount.objects.select_for_update().select_related("user").filter(remote_id=remote_id).first()
            )
            if account is None:
                user = user_model.objects.create_user(**profile)  # no password: an unusable one
                StaffAccount.objects.create(
                    user=user, remote_id=remote_id, email=remote.email, checked_at=timezone.now()
                )
                return user
            user = account.user
            changed = [name for name, value in profile.items() if getattr(user, name) != value]
            for name in changed:
                setattr(user, name, profile[name])
            if changed:
                user.save(update_fields=changed)
            account.email, account.checked_at = remote.email, timezone.now()
            account.save(update_fields=["email", "checked_at"])
            return user
    except IntegrityError:
        if StaffAccount.objects.filter(remote_id=remote_id).exists():  # a concurrent first sign-in made it
            return staff_account_sync(remote=remote)
        logger.error(
            "back-office sign-in of %s refused: the local account %r is not linked to this staff member; "
            "rename or delete it (python manage.py changepassword/shell) to let them in",
            remote.email,
            remote.email,
        )
        return None


def staff_account_recheck(*, account: StaffAccount) -> bool:
    """Whether ``account``'s session may go on, asking user_svc when the last check is too old.

    A deactivated, deleted or no-longer-staff account is made inactive here (False). See the module
    docstring for what happens while user_svc cannot answer.
    """
    now = timezone.now()
    if now - account.checked_at < timedelta(seconds=settings.ADMIN_STAFF_RECHECK_SECONDS):
        return True
    stub = user_pb2_grpc.UserServiceStub(channel("user"))
    try:
        remote = call(
            stub.GetUser, user_pb2.GetUserRequest(id=str(account.remote_id)), deadline=RECHECK_DEADLINE_SECONDS
        )
    except grpc.RpcError as exc:
        if _code(exc) == grpc.StatusCode.NOT_FOUND:
            _lock_out(account=account, why="deleted in user_svc")
            return False
        return _within_grace(account=account, now=now, code=_code(exc))
    if not remote.is_active or remote.role != STAFF_ROLE:
        _lock_out(account=account, why="deactivated" if not remote.is_active else f"role is now {remote.role}")
        return False
    StaffAccount.objects.filter(pk=account.pk).update(checked_at=now, email=remote.email)
    return True


def _within_grace(*, account: StaffAccount, now: datetime, code: grpc.StatusCode) -> bool:
    last_known = now - account.checked_at
    if last_known <= timedelta(seconds=settings.ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS):
        logger.warning(
            "cannot re-check back-office user %s (user_svc answered %s); kept, last confirmed %.0f s ago",
            account.email,
            code.name,
            last_known.total_seconds(),
        )
        return True
    logger.error(
        "cannot re-check back-office user %s (user_svc answered %s); signed out, last confirmed %.0f s ago",
        account.email,
        code.name,
        last_known.total_seconds(),
    )
    return False


def _lock_out(*, account: StaffAccount, why: str) -> None:
    """Makes the local user inactive, which ends every session of theirs here until they sign in again."""
    get_user_model().objects.filter(pk=account.user_id, is_active=True).update(is_active=False)
    logger.warning("back-office user %s signed out: %s", account.email, why)


def _code(exc: grpc.RpcError) -> grpc.StatusCode:
    return exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
