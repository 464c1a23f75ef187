"""Input serializers every service's API uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class StrictInput(serializers.Serializer[Any]):
    """An input serializer that refuses fields it does not accept, instead of ignoring them.

    DRF silently drops unknown and read-only fields, so ``PATCH {"role": "staff"}`` on one's
    own profile would answer 200 and leave the client believing it worked. Here every such
    field is a 400 naming it, alongside the usual field errors.
    """

    def to_internal_value(self, data: Any) -> Any:
        refused: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            accepted = [name for name, field in self.fields.items() if not field.read_only]
            hint = f"Send only {', '.join(accepted)}." if accepted else "Send no fields."
            refused = {
                str(name): [f"This field is read-only. {hint}" if name in self.fields else f"Unknown field. {hint}"]
                for name in data
                if name not in accepted
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refused}) from exc
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value
