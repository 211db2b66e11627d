"""Legal topic names, and the names that collide in metric names.

A topic name is 1 to 249 characters of ASCII letters, digits, ``.``, ``_`` and
``-``, and neither ``.`` nor ``..`` (they are directory names). Because metric
names replace ``.`` with ``_``, two topics whose names differ only there would
share metrics, so the controller refuses the second one.

Mirrors Kafka's ``org.apache.kafka.common.internals.Topic``.
"""

from __future__ import annotations

import re

CLUSTER_METADATA_TOPIC_NAME = "__cluster_metadata"
GROUP_METADATA_TOPIC_NAME = "__consumer_offsets"
TRANSACTION_STATE_TOPIC_NAME = "__transaction_state"
SHARE_GROUP_STATE_TOPIC_NAME = "__share_group_state"
INTERNAL_TOPICS = frozenset(
    (GROUP_METADATA_TOPIC_NAME, TRANSACTION_STATE_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME)
)

MAX_NAME_LENGTH = 249
_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")


def invalid_reason(name: str) -> str | None:
    """Why ``name`` is not a legal topic name, or None if it is."""
    if not name:
        return "the empty string is not allowed"
    if name == ".":
        return "'.' is not allowed"
    if name == "..":
        return "'..' is not allowed"
    # Java measures strings in UTF-16 code units.
    if len(name.encode("utf-16-le")) // 2 > MAX_NAME_LENGTH:
        return f"the length of '{name}' is longer than the max allowed length {MAX_NAME_LENGTH}"
    if not _LEGAL.fullmatch(name):
        return (
            f"'{name}' contains one or more characters other than ASCII alphanumerics, "
            "'.', '_' and '-'"
        )
    return None


def validation_error(name: str) -> str | None:
    """Kafka's InvalidTopicException message for ``name``, or None if it is legal."""
    reason = invalid_reason(name)
    return None if reason is None else f"Topic name is invalid: {reason}"


def is_internal(name: str) -> bool:
    return name in INTERNAL_TOPICS


def has_collision_chars(name: str) -> bool:
    return "." in name or "_" in name


def unify_collision_chars(name: str) -> str:
    """The form under which names that collide in metrics are equal."""
    return name.replace(".", "_")
