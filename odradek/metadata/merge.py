"""Copy-on-write maps: how an image's dictionaries change without being mutated.

Images are immutable and shared between the old and the new version wherever
nothing changed (Kafka uses persistent maps for this). Python's dicts are not
persistent, so applying a delta copies a map once, and only when the delta
changed something in it. :func:`differences` goes the other way, from two versions
of a map to the changes between them: what a delta holds after a snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

K = TypeVar("K")
J = TypeVar("J")
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


def differences(base: Mapping[K, V], target: Mapping[K, V]) -> dict[K, V | None]:
    """The changes that make ``base`` into ``target``, None meaning removal.

    The inverse of :func:`merged`: ``merged(base, differences(base, target)) == target``,
    and keys whose value is the same in both are left out.
    """
    changes: dict[K, V | None] = {
        key: value for key, value in target.items() if key not in base or base[key] != value
    }
    for key in base:
        if key not in target:
            changes[key] = None
    return changes


def nested_differences(
    base: Mapping[K, Mapping[J, V]], target: Mapping[K, Mapping[J, V]]
) -> dict[K, dict[J, V | None]]:
    """:func:`differences` of each inner map (a missing one is empty), where any differ."""
    changes: dict[K, dict[J, V | None]] = {}
    for key in base.keys() | target.keys():
        inner = differences(base.get(key, {}), target.get(key, {}))
        if inner:
            changes[key] = inner
    return changes
