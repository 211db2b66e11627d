"""The exceptions of the Raft core, and what each means for its caller.

Kafka's ``NotLeaderException`` and ``RaftException``. Inputs from the network never
raise: a malformed or unexpected message is answered with an error code or ignored.
What does raise is either the caller's mistake (:class:`NotLeaderError`, a
``ValueError`` for a bad argument) or a broken Raft invariant
(:class:`RaftSafetyError`), which no sequence of messages can cause and which the
simulation exists to catch.
"""

from __future__ import annotations


class NotLeaderError(Exception):
    """An append or resignation for an epoch in which this replica is not the leader."""


class RaftSafetyError(AssertionError):
    """A Raft invariant would break; it can only come from a bug (or a lost disk)."""
