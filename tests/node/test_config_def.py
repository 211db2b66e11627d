"""Kafka's ConfigDef rules: value parsing, every validator kind, definitions."""

from __future__ import annotations

import math

import pytest

from odradek.node.config.broker_configs import BROKER_CONFIGS, VOTERS
from odradek.node.config.config_def import (
    INT,
    LIST,
    MEDIUM,
    REQUIRED,
    STRING,
    ConfigDef,
    ConfigError,
    ConfigType,
    NonEmptyString,
    NonNull,
    OneOf,
    Password,
    ValidList,
    at_least,
    between,
    define,
    java_double_string,
    parse_value,
    to_kafka_string,
)
from odradek.node.config.topic_configs import GZIP_LEVEL, THROTTLED_REPLICAS


@pytest.mark.parametrize(
    ("config_type", "raw", "value"),
    [
        (ConfigType.BOOLEAN, "true", True),
        (ConfigType.BOOLEAN, " FALSE ", False),
        (ConfigType.BOOLEAN, "True", True),
        (ConfigType.INT, " 42 ", 42),
        (ConfigType.INT, "+7", 7),
        (ConfigType.INT, "-2147483648", -(2**31)),
        (ConfigType.SHORT, "32767", 32767),
        (ConfigType.LONG, "9223372036854775807", 2**63 - 1),
        (ConfigType.DOUBLE, "0.5", 0.5),
        (ConfigType.DOUBLE, "1e3", 1000.0),
        (ConfigType.DOUBLE, "2.5d", 2.5),
        (ConfigType.DOUBLE, ".5", 0.5),
        (ConfigType.LIST, "a, b ,c", ("a", "b", "c")),
        (ConfigType.LIST, "  ", ()),
        (ConfigType.LIST, "a,,b", ("a", "", "b")),
        (ConfigType.LIST, "a,", ("a", "")),
        (ConfigType.STRING, "  padded  ", "padded"),
        (ConfigType.CLASS, " org.example.Plugin ", "org.example.Plugin"),
    ],
)
def test_parse_value(config_type: ConfigType, raw: str, value: object) -> None:
    assert parse_value("k", config_type, raw) == value


def test_nan_parses() -> None:
    assert math.isnan(parse_value("k", ConfigType.DOUBLE, "NaN"))


@pytest.mark.parametrize(
    ("config_type", "raw", "reason"),
    [
        (ConfigType.BOOLEAN, "yes", "Expected value to be either true or false"),
        (ConfigType.BOOLEAN, "1", "Expected value to be either true or false"),
        (ConfigType.INT, "2147483648", "Not a number of type INT"),
        (ConfigType.INT, "1_000", "Not a number of type INT"),
        (ConfigType.INT, "0x10", "Not a number of type INT"),
        (ConfigType.INT, "1g", "Not a number of type INT"),
        (ConfigType.INT, "", "Not a number of type INT"),
        (ConfigType.SHORT, "32768", "Not a number of type SHORT"),
        (ConfigType.LONG, "9223372036854775808", "Not a number of type LONG"),
        (ConfigType.DOUBLE, "half", "Not a number of type DOUBLE"),
    ],
)
def test_parse_errors_name_the_key(config_type: ConfigType, raw: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_value("some.key", config_type, raw)
    assert str(caught.value) == f"Invalid value {raw} for configuration some.key: {reason}"
    assert caught.value.keys == ("some.key",)


def test_passwords_never_print() -> None:
    secret = parse_value("ssl.key.password", ConfigType.PASSWORD, " s3cret ")
    assert secret == Password("s3cret")
    assert str(secret) == repr(secret) == "[hidden]"
    assert to_kafka_string(secret, ConfigType.PASSWORD) == "s3cret"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (100.0, "100.0"),
        (1234567.0, "1234567.0"),
        (1e7, "1.0E7"),
        (0.0001, "1.0E-4"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (0.0, "0.0"),
        (-2.5e-5, "-2.5E-5"),
        (float("inf"), "Infinity"),
    ],
)
def test_doubles_print_as_java_does(value: float, text: str) -> None:
    assert java_double_string(value) == text


def test_to_kafka_string() -> None:
    assert to_kafka_string(("compact", "delete"), ConfigType.LIST) == "compact,delete"
    assert to_kafka_string(True, ConfigType.BOOLEAN) == "true"
    assert to_kafka_string(None, ConfigType.STRING) is None


# --- validators -------------------------------------------------------------------


def _error(validator: object, value: object) -> str:
    with pytest.raises(ConfigError) as caught:
        validator.check("k", value)  # type: ignore[attr-defined]
    return str(caught.value)


def test_range() -> None:
    at_least(1).check("k", 1)
    between(0, 1).check("k", 0.5)
    assert _error(at_least(1), 0) == "Invalid value 0 for configuration k: Value must be at least 1"
    assert _error(between(1, 17), 18).endswith("Value must be no more than 17")
    assert _error(at_least(0), None).endswith("Value must be non-null")
    assert str(at_least(1)) == "[1,...]"
    assert str(between(-131072, 22)) == "[-131072,...,22]"


def test_one_of_is_exact_unless_case_insensitive() -> None:
    exact = OneOf("CreateTime", "LogAppendTime")
    exact.check("k", "CreateTime")
    assert _error(exact, "createtime").endswith("String must be one of: CreateTime, LogAppendTime")
    assert str(exact) == "[CreateTime, LogAppendTime]"
    relaxed = OneOf("disabled", "upgrade", case_insensitive=True)
    relaxed.check("k", "Upgrade")
    assert "(case insensitive)" in _error(relaxed, "sideways")
    assert str(relaxed) == "(case insensitive) [DISABLED, UPGRADE]"


def test_valid_list() -> None:
    roles = ValidList("broker", "controller", empty_allowed=False)
    roles.check("process.roles", ("broker", "controller"))
    assert "must not be empty" in _error(roles, ())
    assert "must not be duplicated" in _error(roles, ("broker", "broker"))
    assert "String must be one of: broker, controller" in _error(roles, ("observer",))
    assert "values must not be empty" in _error(ValidList(), ("a", ""))
    assert "must not be null" in _error(ValidList(), None)
    ValidList(null_allowed=True).check("k", None)
    assert str(roles) == "[broker, controller]"
    assert str(ValidList()) == ""


def test_non_empty_and_non_null() -> None:
    NonEmptyString().check("k", None)
    assert "String must be non-empty" in _error(NonEmptyString(), "")
    NonNull().check("k", "")
    assert "entry must be non null" in _error(NonNull(), None)


@pytest.mark.parametrize("level", [-1, 1, 9])
def test_gzip_level_accepts(level: int) -> None:
    GZIP_LEVEL.check("compression.gzip.level", level)


@pytest.mark.parametrize("level", [0, -2, 10])
def test_gzip_level_rejects(level: int) -> None:
    assert "between 1 and 9 or equal to -1" in _error(GZIP_LEVEL, level)


def test_throttled_replicas() -> None:
    THROTTLED_REPLICAS.check("k", ("0:1", " 1:2"))
    THROTTLED_REPLICAS.check("k", ("*",))
    THROTTLED_REPLICAS.check("k", ())
    assert "must be the literal '*'" in _error(THROTTLED_REPLICAS, ("0-1",))


def test_voters_validator() -> None:
    VOTERS.check("controller.quorum.voters", ("1@localhost:9093", "2@[::1]:9093"))
    assert "{id}@{host}:{port}" in _error(VOTERS, ("localhost:9093",))
    assert "Failed to parse voter ID" in _error(VOTERS, ("x@localhost:9093",))


# --- definitions ----------------------------------------------------------------


def test_define_checks_the_default() -> None:
    with pytest.raises(TypeError):
        define("k", INT, "1", MEDIUM, doc="")
    with pytest.raises(TypeError):
        define("k", INT, True, MEDIUM, doc="")
    with pytest.raises(ConfigError):
        define("k", INT, 0, MEDIUM, at_least(1), doc="")
    with pytest.raises(ValueError, match="does not fit"):
        define("k", INT, 2**31, MEDIUM, doc="")
    assert define("k", INT, REQUIRED, MEDIUM, at_least(1), doc="").has_default is False


def test_config_def_collects_every_problem() -> None:
    table = ConfigDef.of(
        [
            define("a", INT, 1, MEDIUM, at_least(1), doc=""),
            define("b", STRING, REQUIRED, MEDIUM, doc=""),
            define("c", LIST, ("x",), MEDIUM, doc=""),
        ]
    )
    with pytest.raises(ConfigError) as caught:
        table.parse({"a": "0"})
    assert caught.value.keys == ("a", "b")
    assert 'Missing required configuration "b" which has no default value.' in str(caught.value)
    assert table.parse({"b": "y"}) == {"a": 1, "b": "y", "c": ("x",)}


def test_a_key_defined_twice_is_a_table_error() -> None:
    key = define("a", INT, 1, MEDIUM, doc="")
    with pytest.raises(ValueError, match="defined twice"):
        ConfigDef.of([key], [key])


def test_every_broker_key_has_a_one_line_doc() -> None:
    for key in BROKER_CONFIGS:
        assert key.doc
        assert "\n" not in key.doc
