"""The key tables against Apache Kafka's own ConfigDef, read from the reference jars.

A small Java program lists every key of ``KafkaConfig.configDef()`` and
``LogConfig.configKeys()`` with its type, default, validator, importance, internal flag
and dynamic update mode, and Kafka's topic synonyms; the tables must agree exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from odradek.node.config.broker_configs import BROKER_CONFIGS, ODRADEK_CONFIGS
from odradek.node.config.config_def import ConfigKey, UpdateMode
from odradek.node.config.security_configs import STANDARD_AUTHORIZER_CONFIGS
from odradek.node.config.topic_configs import TOPIC_CONFIGS, TOPIC_SYNONYMS
from tests.support.kafka_reference import kafka_classpath, kafka_unavailable

pytestmark = pytest.mark.java

_LISTER = """
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.server.config.DynamicBrokerConfig;
import org.apache.kafka.server.config.ServerTopicConfigSynonyms;
import org.apache.kafka.storage.internals.log.LogConfig;

public class ListConfigs {
    static String q(Object o) {
        if (o == null) return "null";
        StringBuilder b = new StringBuilder("\\"");
        for (char c : o.toString().toCharArray()) {
            if (c == '"' || c == '\\\\') b.append('\\\\').append(c);
            else if (c < 32) b.append(String.format("\\\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static String field(String name, Object quoted) {
        return q(name) + ":" + quoted;
    }

    static void keys(String kind, Map<String, ConfigDef.ConfigKey> keys, Map<String, String> mode) {
        for (ConfigDef.ConfigKey k : keys.values()) {
            String dflt = k.hasDefault()
                ? q(ConfigDef.convertToString(k.defaultValue, k.type)) : q("<required>");
            System.out.println("{" + String.join(",",
                field("kind", q(kind)), field("name", q(k.name)), field("type", q(k.type)),
                field("default", dflt), field("validator", q(k.validator)),
                field("importance", q(k.importance)), field("internal", k.internalConfig),
                field("mode", q(mode.getOrDefault(k.name, "read-only")))) + "}");
        }
    }

    public static void main(String[] args) {
        keys("broker", kafka.server.KafkaConfig.configDef().configKeys(),
             DynamicBrokerConfig.dynamicConfigUpdateModes());
        keys("topic", LogConfig.configKeys(), Map.of());
        for (var e : ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS.entrySet()) {
            StringBuilder b = new StringBuilder();
            for (var s : e.getValue()) {
                if (b.length() > 0) b.append(",");
                b.append("[" + q(s.name()) + "," + s.converter().apply("1") + "]");
            }
            System.out.println("{" + field("kind", q("synonyms")) + ","
                + field("name", q(e.getKey())) + "," + field("synonyms", "[" + b + "]") + "}");
        }
    }
}
"""


@pytest.fixture(scope="module")
def kafka_tables(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)
    classpath = kafka_classpath()
    assert classpath is not None
    source = Path(tmp_path_factory.mktemp("kafka-configs")) / "ListConfigs.java"
    source.write_text(_LISTER)
    java = shutil.which("java")
    assert java is not None
    output = subprocess.run(
        [java, "-cp", classpath, str(source)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _describe(key: ConfigKey, broker: bool) -> dict[str, Any]:
    return {
        "type": key.type.name,
        "default": key.default_string if key.has_default else "<required>",
        "validator": None if key.validator is None else str(key.validator),
        "importance": key.importance.name,
        "internal": key.internal,
        "mode": key.mode.value if broker else UpdateMode.READ_ONLY.value,
    }


def _kafka_rows(rows: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {
        row["name"]: {
            field: row[field]
            for field in ("type", "default", "validator", "importance", "internal", "mode")
        }
        for row in rows
        if row["kind"] == kind
    }


def test_broker_keys_match_kafka(kafka_tables: list[dict[str, Any]]) -> None:
    ours_only = {key.name for key in (*ODRADEK_CONFIGS, *STANDARD_AUTHORIZER_CONFIGS)}
    ours = {key.name: _describe(key, True) for key in BROKER_CONFIGS if key.name not in ours_only}
    assert ours == _kafka_rows(kafka_tables, "broker")


def test_topic_keys_match_kafka(kafka_tables: list[dict[str, Any]]) -> None:
    ours = {key.name: _describe(key, False) for key in TOPIC_CONFIGS}
    assert ours == _kafka_rows(kafka_tables, "topic")


def test_topic_synonyms_match_kafka(kafka_tables: list[dict[str, Any]]) -> None:
    kafka = {
        row["name"]: [(name, unit) for name, unit in row["synonyms"]]
        for row in kafka_tables
        if row["kind"] == "synonyms"
    }
    ours = {
        name: [(s.name, s.to_topic_unit) for s in synonyms]
        for name, synonyms in TOPIC_SYNONYMS.items()
    }
    assert ours == {name: synonyms for name, synonyms in kafka.items() if synonyms}
