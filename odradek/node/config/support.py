"""Which of Kafka's keys Odradek acts on, and what it says about the others.

Every key of Kafka's broker configuration is known (:mod:`.broker_configs`), so a
``server.properties`` written for Kafka parses. A key that belongs to a feature
Odradek does not have yet may still appear, as long as its value is one that does not
ask for the feature (normally the default: ``ssl.client.auth=none`` is fine,
``ssl.keystore.location=/etc/kafka/ks.jks`` is not). Otherwise start-up stops with
``not supported by Odradek yet: <key> (<feature>)``: a different message from
``unknown configuration key: <key>``, which is for names Kafka does not have either,
and from ``configuration key removed in Kafka 4.0``, for names older Kafka releases
had.

When a feature lands, its line goes from :data:`NOT_YET_SUPPORTED`; nothing else in
the configuration code changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .broker_configs import BROKER_CONFIGS
from .config_def import ConfigProblem


def _is_default(name: str, value: Any) -> bool:
    return bool(value == BROKER_CONFIGS[name].default)


@dataclass(frozen=True)
class Feature:
    """A Kafka feature Odradek does not implement yet, and the keys that ask for it."""

    name: str
    keys: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    # Values of one of its keys that do not need the feature (by default: the default).
    allows: Callable[[str, Any], bool] = field(default=_is_default)

    def covers(self, key: str) -> bool:
        return key in self.keys or key.startswith(self.prefixes)


_JMX_REPORTER = "org.apache.kafka.common.metrics.JmxReporter"
_BUILTIN_CONSUMER_ASSIGNORS = {
    "uniform",
    "range",
    "org.apache.kafka.coordinator.group.assignor.UniformAssignor",
    "org.apache.kafka.coordinator.group.assignor.RangeAssignor",
}

NOT_YET_SUPPORTED: tuple[Feature, ...] = (
    Feature("TLS", prefixes=("ssl.",)),
    Feature("SASL", keys=("connections.max.reauth.ms",), prefixes=("sasl.",)),
    Feature(
        "authorization",
        keys=("authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found"),
    ),
    Feature("pluggable principals", keys=("principal.builder.class", "security.providers")),
    Feature("delegation tokens", prefixes=("delegation.token.",)),
    Feature(
        "quotas",
        keys=("client.quota.callback.class",),
        prefixes=(
            "quota.",
            "replication.quota.",
            "alter.log.dirs.replication.quota.",
            "controller.quota.",
        ),
    ),
    Feature(
        "tiered storage",
        keys=(
            "log.local.retention.ms",
            "log.local.retention.bytes",
            "follower.fetch.last.tiered.offset.enable",
        ),
        prefixes=("remote.",),
    ),
    Feature("share groups", prefixes=("group.share.", "share.")),
    Feature("streams groups", prefixes=("group.streams.",)),
    Feature(
        "share groups",
        keys=("group.coordinator.rebalance.protocols",),
        allows=lambda _, protocols: "share" not in protocols,
    ),
    Feature(
        "custom consumer group assignors",
        keys=("group.consumer.assignors",),
        allows=lambda _, assignors: set(assignors) <= _BUILTIN_CONSUMER_ASSIGNORS,
    ),
    Feature(
        "metrics reporter plug-ins",
        keys=("metric.reporters",),
        # Odradek exports metrics itself; naming only Kafka's JMX reporter asks for nothing.
        allows=lambda _, reporters: set(reporters) <= {_JMX_REPORTER},
    ),
    Feature(
        "Java plug-ins",
        keys=(
            "kafka.metrics.reporters",
            "config.providers",
            "create.topic.policy.class.name",
            "alter.config.policy.class.name",
            "replica.selector.class",
        ),
    ),
    Feature("two-phase commit transactions", keys=("transaction.two.phase.commit.enable",)),
    Feature("cordoned log directories", keys=("cordoned.log.dirs",)),
    Feature("controller auto-join", keys=("controller.quorum.auto.join.enable",)),
)

# Keys of earlier Kafka releases that Kafka 4.x no longer has, and why.
_ZOOKEEPER = "ZooKeeper mode was removed in Kafka 4.0"
REMOVED_KEYS: dict[str, str] = {
    **{
        key: _ZOOKEEPER
        for key in (
            "zookeeper.connect",
            "zookeeper.session.timeout.ms",
            "zookeeper.connection.timeout.ms",
            "zookeeper.max.in.flight.requests",
            "zookeeper.set.acl",
            "zookeeper.clientCnxnSocket",
            "zookeeper.ssl.client.enable",
            "zookeeper.ssl.keystore.location",
            "zookeeper.ssl.keystore.password",
            "zookeeper.ssl.keystore.type",
            "zookeeper.ssl.truststore.location",
            "zookeeper.ssl.truststore.password",
            "zookeeper.ssl.truststore.type",
            "zookeeper.ssl.protocol",
            "zookeeper.ssl.enabled.protocols",
            "zookeeper.ssl.cipher.suites",
            "zookeeper.ssl.endpoint.identification.algorithm",
            "zookeeper.ssl.crl.enable",
            "zookeeper.ssl.ocsp.enable",
            "zookeeper.metadata.migration.enable",
            "zookeeper.metadata.migration.min.batch.size",
            "broker.id.generation.enable",
            "reserved.broker.max.id",
            "control.plane.listener.name",
            "controlled.shutdown.max.retries",
            "controlled.shutdown.retry.backoff.ms",
            "leader.imbalance.per.broker.percentage",
            "offsets.commit.required.acks",
            "delegation.token.master.key",
            "password.encoder.secret",
            "password.encoder.old.secret",
            "password.encoder.cipher.algorithm",
            "password.encoder.iterations",
            "password.encoder.key.length",
            "password.encoder.keyfactory.algorithm",
        )
    },
    "inter.broker.protocol.version": "metadata.version (kafka-features) replaced it in KRaft",
    "log.message.format.version": "message formats v0 and v1 were removed in Kafka 4.0",
    "log.message.downconversion.enable": "down-conversion was removed in Kafka 4.0",
    "log.message.timestamp.difference.max.ms": (
        "use log.message.timestamp.before.max.ms and log.message.timestamp.after.max.ms"
    ),
    "eligible.leader.replicas.enable": "the eligible.leader.replicas.version feature replaced it",
    "auto.include.jmx.reporter": "metric.reporters names the JMX reporter explicitly",
    "group.coordinator.new.enable": "the new group coordinator is always on",
    "group.share.enable": "the share.version feature replaced it",
    "group.share.max.groups": "share groups are limited by group.share.max.size",
    "metadata.log.segment.min.bytes": "use metadata.log.segment.bytes",
    "share.fetch.max.fetch.records": "removed from Kafka's share fetch",
}

_PER_LISTENER = "listener.name."


def feature_of(key: str) -> Feature | None:
    """The not-yet-supported feature a broker key belongs to, if any."""
    for feature in NOT_YET_SUPPORTED:
        if feature.covers(key):
            return feature
    return None


def key_problems(props: Mapping[str, str], values: Mapping[str, Any]) -> list[ConfigProblem]:
    """What is wrong with the names in ``props`` (and the values that need a missing feature).

    ``values`` are the parsed values of the keys that parsed; a key whose value did not
    parse is reported by the parser, not here.
    """
    problems: list[ConfigProblem] = []
    for key in props:
        if key in BROKER_CONFIGS:
            if key not in values:
                continue
            for feature in NOT_YET_SUPPORTED:
                if feature.covers(key) and not feature.allows(key, values[key]):
                    problems.append(
                        ConfigProblem(key, f"not supported by Odradek yet: {key} ({feature.name})")
                    )
                    break
        elif key in REMOVED_KEYS:
            problems.append(
                ConfigProblem(
                    key, f"configuration key removed in Kafka 4.0: {key} ({REMOVED_KEYS[key]})"
                )
            )
        elif key.startswith(_PER_LISTENER):
            problems.append(
                ConfigProblem(
                    key, f"not supported by Odradek yet: {key} (per-listener configuration)"
                )
            )
        else:
            problems.append(ConfigProblem(key, f"unknown configuration key: {key}"))
    return problems
