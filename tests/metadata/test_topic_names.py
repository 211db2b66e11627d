"""Legal topic names (Kafka's ``Topic.validate``) and metric-name collisions."""

from __future__ import annotations

import pytest

from odradek.metadata.topic_names import (
    has_collision_chars,
    invalid_reason,
    unify_collision_chars,
    validation_error,
)


@pytest.mark.parametrize("name", ["a", "A-b_c.9", "x" * 249, "__consumer_offsets", "..."])
def test_legal_names(name: str) -> None:
    assert invalid_reason(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "the empty string is not allowed"),
        (".", "'.' is not allowed"),
        ("..", "'..' is not allowed"),
        ("x" * 250, "is longer than the max allowed length 249"),
        ("a b", "contains one or more characters other than ASCII alphanumerics"),
        ("é", "contains one or more characters other than ASCII alphanumerics"),
        ("a/b", "contains one or more characters other than ASCII alphanumerics"),
        ("a\n", "contains one or more characters other than ASCII alphanumerics"),
    ],
)
def test_illegal_names(name: str, reason: str) -> None:
    found = invalid_reason(name)
    assert found is not None
    assert reason in found
    assert validation_error(name) == f"Topic name is invalid: {found}"


def test_length_counts_utf16_units_like_java() -> None:
    # 125 characters outside the BMP are 250 UTF-16 units: too long before being illegal.
    reason = invalid_reason("\U0001f600" * 125)
    assert reason is not None
    assert "longer than the max allowed length" in reason


def test_collisions() -> None:
    assert has_collision_chars("a.b")
    assert has_collision_chars("a_b")
    assert not has_collision_chars("ab-c")
    assert unify_collision_chars("a.b_c") == unify_collision_chars("a_b.c")
