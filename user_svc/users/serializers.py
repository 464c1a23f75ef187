"""Input and output shapes of the user API (no logic: the services decide)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from shared.serializers import StrictInput
from users.models import Role, User


class RegistrationInput(StrictInput):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class SignInInput(StrictInput):
    # Not an EmailField: a malformed address is just a wrong one (401), not a validation error to probe.
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class RefreshInput(StrictInput):
    refresh = serializers.CharField()


class ProfileInput(StrictInput):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class PasswordChangeInput(StrictInput):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class AccessInput(StrictInput):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class UserOutput(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "date_joined"]


class StaffUserOutput(serializers.ModelSerializer[User]):
    """What staff see of a user: the public shape plus whether the account is active."""

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "is_active", "date_joined"]


class TokenPairOutput(serializers.Serializer[Any]):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class JsonWebKeyOutput(serializers.Serializer[Any]):
    kty = serializers.CharField(read_only=True)
    use = serializers.CharField(read_only=True)
    alg = serializers.CharField(read_only=True)
    kid = serializers.CharField(read_only=True)
    n = serializers.CharField(read_only=True)
    e = serializers.CharField(read_only=True)


class JsonWebKeySetOutput(serializers.Serializer[Any]):
    keys = JsonWebKeyOutput(many=True, read_only=True)
