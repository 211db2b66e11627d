"""Consumer groups: the consumer group protocol of KIP-848 (ConsumerGroupHeartbeat).

The coordinator runs the assignment: members only say what they subscribe to and
which partitions they own, in periodic heartbeats, and each heartbeat moves them a
step towards the target assignment without stopping the whole group. Spec:
``clients/ConsumerGroupHeartbeatRequest.json``, ``group-coordinator/ConsumerGroup*.json``
and ``docs/design.html`` ("Consumer group protocol").

* :mod:`.member`, :mod:`.group` -- members and groups, as their records say;
* :mod:`.records`, :mod:`.replay` -- records 3-8 and how they are applied;
* :mod:`.assignors` -- ``uniform`` and ``range``;
* :mod:`.target` -- computing a new target assignment;
* :mod:`.reconcile` -- moving one member towards its target, safely;
* :mod:`.heartbeat` -- the ConsumerGroupHeartbeat API, sessions and timeouts;
* :mod:`.describe` -- the ConsumerGroupDescribe API.
"""
