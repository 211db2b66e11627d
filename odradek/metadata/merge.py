"""Copy-on-write maps: how an image's dictionaries change without being mutated.

Images are immutable and shared between the old and the new version wherever
nothing changed (Kafka uses persistent maps for this). Python's dicts are not
persistent, so applying a delta copies a map once, and only when the delta
changed something in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def merged(base: Mapping[K, V], changes: Mapping[K, V | None]) -> Mapping[K, V]:
    """``base`` with ``changes`` applied, None meaning removal; ``base`` itself if no changes."""
    if not changes:
        return base
    result = dict(base)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
