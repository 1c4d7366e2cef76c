"""core.serializers.RequestSerializer: fields built once per class and thread, validation unchanged."""

from __future__ import annotations

import threading

import pytest
from rest_framework import serializers

from core.serializers import RequestSerializer, StrictCharField


class Plain(serializers.Serializer):
    seeds = serializers.ListField(child=StrictCharField(max_length=5), min_length=1, max_length=3)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    seed = StrictCharField(max_length=5, required=False, allow_blank=True)


class Reused(RequestSerializer):
    seeds = serializers.ListField(child=StrictCharField(max_length=5), min_length=1, max_length=3)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    seed = StrictCharField(max_length=5, required=False, allow_blank=True)


REQUESTS = [
    {"seeds": ["a", "b"]},
    {"seeds": [1, "toolong", "ok"], "limit": 0},
    {"seeds": ["a"], "limit": "7", "seed": ""},
    {},
    {"seeds": [], "limit": 51, "seed": True},
    {"seeds": ["a", "b", "c", "d"]},
    {"seeds": ["x"], "seed": "y"},
]


def outcome(serializer_class, data):
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", serializer.errors


def test_a_request_serializer_validates_every_request_as_drf_does_one_after_another():
    # The same fields serve each request in turn: nothing from one request's errors or values
    # carries over to the next.
    for _ in range(2):
        for data in REQUESTS:
            assert outcome(Reused, data) == outcome(Plain, data)


def test_its_fields_are_built_once_per_thread():
    first, second = Reused(data={}), Reused(data={})
    assert first.fields["seeds"] is second.fields["seeds"]
    assert Plain(data={}).fields["seeds"] is not Plain(data={}).fields["seeds"]

    in_another_thread = []
    thread = threading.Thread(target=lambda: in_another_thread.append(Reused(data={}).fields["seeds"]))
    thread.start()
    thread.join()
    assert in_another_thread[0] is not first.fields["seeds"]


def test_it_refuses_what_shared_fields_cannot_honour():
    with pytest.raises(TypeError):
        Reused(data={}, partial=True)
    with pytest.raises(TypeError):
        Reused(data={}, context={"request": None})
