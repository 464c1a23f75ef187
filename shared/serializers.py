"""Input serializers every service's API uses, and :class:`FieldsBuiltOnce` for hot output serializers."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

# Fields whose value is JSON text; DRF would also take a number (``0`` -> ``"0"``, ``5`` -> a UUID from an int).
TEXT_FIELDS = (serializers.CharField, serializers.DecimalField, serializers.UUIDField)


class StrictInput(serializers.Serializer[Any]):
    """An input serializer that refuses fields it does not accept, instead of ignoring them, and values
    of another JSON type than the field's, instead of converting them.

    DRF silently drops unknown and read-only fields, so ``PATCH {"role": "staff"}`` on one's
    own profile would answer 200 and leave the client believing it worked. Here every such
    field is a 400 naming it, alongside the usual field errors. DRF also converts: ``0`` becomes
    the text ``"0"``, ``1`` and ``"yes"`` become true, ``"3"`` becomes 3. Here a text field takes
    a JSON string, a boolean true or false, an integer a JSON integer, as the OpenAPI schema says.
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
            for name in accepted:
                if name in data and (mistyped := wrong_json_type(self.fields[name], data[name])):
                    refused[name] = [mistyped]
                elif name in data and (too_long := over_max_length(self.fields[name], data[name])):
                    refused[name] = [too_long]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refused}) from exc
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


def over_max_length(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """DRF's message when a text is longer than the field's ``max_length`` as sent, else None.

    DRF measures the text after trimming its whitespace, so "\\t" + 150 characters passed a limit of 150;
    the OpenAPI ``maxLength`` is the length sent, and so is this check.
    """
    limit = getattr(field, "max_length", None)
    if isinstance(field, serializers.CharField) and limit is not None and isinstance(value, str) and len(value) > limit:
        return f"Ensure this field has no more than {limit} characters."
    return None


def wrong_json_type(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """The field's own "invalid" message when ``value`` is not of the JSON type the field takes, else None.

    ``null`` is left to the field (``allow_null``); lists, objects and nested inputs check their own type.
    """
    if value is None:
        return None
    if isinstance(field, TEXT_FIELDS):
        wrong = not isinstance(value, str)
    elif isinstance(field, serializers.BooleanField):
        wrong = not isinstance(value, bool)
    elif isinstance(field, serializers.IntegerField):
        wrong = isinstance(value, bool) or not isinstance(value, int)
    else:
        return None
    return str(field.error_messages.get("invalid", "This value has the wrong type.")) if wrong else None


class FieldsBuiltOnce(serializers.Serializer[Any]):
    """Builds the serializer's fields once per class, not once per instance (a mixin: list it first).

    DRF's ``fields`` calls ``get_fields()`` for every instance: it deep-copies each declared field
    (re-running its ``__init__``) and, for a ``ModelSerializer``, introspects the model again. An
    order's answer spent about 1 ms of CPU there. Here the first instance's ``get_fields()`` is kept
    as the class's template, and every instance gets shallow copies of it bound to itself: its
    own field objects, whose ``parent`` (and so ``context`` and the ``get_<name>`` method of a
    ``SerializerMethodField``) is this instance, exactly as DRF binds them. Nested serializers
    and list children are copied and re-parented too, and build their own fields (once per class
    as well, if they use this mixin).

    Only for serializers whose ``get_fields()`` depends on nothing but the class: not on the instance,
    data or context (a serializer that drops fields for some callers must not use it).
    """

    @cached_property
    def fields(self) -> BindingDict:
        template = _FIELD_TEMPLATES.get(type(self))
        if template is None:
            # Two threads may both build it the first time: the same fields either way, one is kept.
            template = _FIELD_TEMPLATES[type(self)] = self.get_fields()
        fields = BindingDict(self)
        for name, field in template.items():
            fields[name] = _unbound_copy(field)  # BindingDict binds it to this instance
        return fields


# Each class's unbound fields, as its get_fields() made them; never bound or used themselves, only copied.
_FIELD_TEMPLATES: dict[type[FieldsBuiltOnce], dict[str, serializers.Field[Any, Any, Any, Any]]] = {}


def _unbound_copy(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    """A copy of a template field for one serializer instance to bind: its own attributes (the field's
    configuration, validators and choices are shared: DRF never changes them once built), and a copy of
    its ``child`` (a ``ListSerializer``'s, a ``ListField``'s), re-parented to the copy."""
    # copy.copy's result, at a quarter of its cost (no __reduce_ex__): a new object with the same attributes.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    clone.__dict__.pop("fields", None)  # a nested serializer's fields must be bound to the clone: built afresh
    child = field.__dict__.get("child")
    if child is not None:
        clone.child = _unbound_copy(child)  # type: ignore[attr-defined]
        # What ListSerializer's and ListField's __init__ do (bind(field_name="", ...)); bind() again would refuse.
        clone.child.parent = clone  # type: ignore[attr-defined]
    return clone
