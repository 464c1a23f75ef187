"""FieldsBuiltOnce: fields built once per class, yet every instance's own, bound to it (context, nesting)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from shared.serializers import FieldsBuiltOnce, StrictInput


class LineOut(FieldsBuiltOnce, serializers.Serializer[Any]):
    name = serializers.CharField()
    seen_by = serializers.SerializerMethodField()

    def get_seen_by(self, line: dict[str, Any]) -> str:
        return f"{self.context['viewer']} sees {line['name']}"


class DocOut(FieldsBuiltOnce, serializers.Serializer[Any]):
    title = serializers.CharField()
    lines = LineOut(many=True)
    cover = LineOut()
    viewer = serializers.SerializerMethodField()

    def get_viewer(self, doc: dict[str, Any]) -> str:
        return str(self.context["viewer"])


class LineIn(FieldsBuiltOnce, StrictInput):
    sku = serializers.CharField(max_length=8)
    quantity = serializers.IntegerField(min_value=1)


class DocIn(FieldsBuiltOnce, StrictInput):
    lines = serializers.ListField(child=LineIn(), min_length=1)


def test_get_fields_runs_once_per_class(monkeypatch):
    assert DocOut({"title": "t", "lines": [], "cover": {"name": "a"}}, context={"viewer": "v"}).data  # template made
    calls = []
    original = serializers.Serializer.get_fields
    monkeypatch.setattr(serializers.Serializer, "get_fields", lambda self: calls.append(self) or original(self))

    first, second = DocOut({}), DocOut({})

    assert list(first.fields) == ["title", "lines", "cover", "viewer"] == list(second.fields)
    assert calls == []


def test_each_instance_has_its_own_fields_bound_to_it():
    first, second = DocOut({}), DocOut({})

    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    # the many=True list's child, and the nested serializer's fields, belong to their instance too
    assert first.fields["lines"].child is not second.fields["lines"].child
    assert first.fields["lines"].child.parent is first.fields["lines"]
    assert first.fields["lines"].child.root is first
    assert first.fields["cover"].fields["name"].parent is first.fields["cover"]
    assert first.fields["cover"].fields["name"] is not second.fields["cover"].fields["name"]


def test_two_answers_with_different_data_and_context_stay_apart():
    alice = DocOut(
        {"title": "one", "lines": [{"name": "a"}, {"name": "b"}], "cover": {"name": "a"}}, context={"viewer": "alice"}
    )
    bob = DocOut({"title": "two", "lines": [{"name": "c"}], "cover": {"name": "c"}}, context={"viewer": "bob"})

    assert bob.data == {
        "title": "two",
        "lines": [{"name": "c", "seen_by": "bob sees c"}],
        "cover": {"name": "c", "seen_by": "bob sees c"},
        "viewer": "bob",
    }
    assert alice.data == {
        "title": "one",
        "lines": [{"name": "a", "seen_by": "alice sees a"}, {"name": "b", "seen_by": "alice sees b"}],
        "cover": {"name": "a", "seen_by": "alice sees a"},
        "viewer": "alice",
    }


@pytest.mark.parametrize("rounds", [2])
def test_inputs_validate_each_body_on_its_own(rounds):
    for _ in range(rounds):
        bad = DocIn(data={"lines": [{"sku": "much-too-long", "quantity": 0, "extra": 1}]})
        good = DocIn(data={"lines": [{"sku": "MUG", "quantity": 2}]})

        assert good.is_valid(), good.errors
        assert not bad.is_valid()
        assert good.validated_data == {"lines": [{"sku": "MUG", "quantity": 2}]}
        assert set(bad.errors["lines"][0]) == {"sku", "quantity", "extra"}
        assert DocIn(data={"lines": []}).is_valid() is False
