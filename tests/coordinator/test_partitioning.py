"""Groups map to ``__consumer_offsets`` partitions exactly as Kafka maps them."""

from __future__ import annotations

import pytest

from odradek.coordinator.group.partitioning import java_string_hash, partition_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 97),
        ("hello", 99162322),
        # Java hashes UTF-16 code units: a character outside the BMP is two of them.
        ("\U0001f600", 0xD83D * 31 + 0xDE00),
        # The well-known string whose hash is Integer.MIN_VALUE.
        ("polygenelubricants", -(2**31)),
    ],
)
def test_java_string_hash(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


def test_partition_for() -> None:
    assert partition_for("hello", 50) == 99162322 % 50
    assert partition_for("polygenelubricants", 50) == 0, "Utils.abs(MIN_VALUE) is 0"
    assert partition_for("a", 1) == 0
    assert java_string_hash("consumer-group") == -1738392088
    assert partition_for("consumer-group", 50) == 1738392088 % 50
