"""Classic groups: the JoinGroup/SyncGroup/Heartbeat/LeaveGroup protocol.

The coordinator stays agnostic of what members do with a group: it picks a protocol
every member supports, elects a leader, hands the leader every member's metadata,
and stores and distributes the assignment the leader computes. Consumers use the
protocol type ``consumer`` with assignors as protocols; Kafka Connect and others use
their own. Eager and cooperative consumers differ only in what the leader assigns.

* :mod:`.state` -- the five group states and their transitions;
* :mod:`.member`, :mod:`.group` -- members, and a group's facts and invariants;
* :mod:`.rebalance` -- the rebalance itself, shared by the APIs and the timers;
* :mod:`.join`, :mod:`.sync`, :mod:`.heartbeat`, :mod:`.leave` -- one per API;
* :mod:`.replies` -- JoinGroup and SyncGroup responses per version.
"""
