"""Configuration definitions in the manner of Kafka's ``ConfigDef``.

A definition names a key, its type, its default, a validator, its importance, one line
of documentation and whether it can be changed at run time (the update modes of
Kafka's ``DynamicBrokerConfig``). Values arrive as the strings of a ``.properties``
file and are parsed the way ``ConfigDef.parseType`` parses them:

* every value is trimmed first;
* ``boolean`` accepts ``true``/``false`` in any case;
* ``int``, ``short`` and ``long`` are decimal integers with an optional sign that must
  fit 32, 16 and 64 bits (sizes and durations are plain numbers: ``1073741824``, never
  ``1g``);
* ``double`` is a Java floating-point literal (``0.5``, ``1e3``, ``NaN``);
* ``list`` splits on commas with the whitespace around them, keeping empty entries
  (``""`` is the empty list);
* ``class`` is a Java class name and ``password`` a string that is never shown.

Validators follow ``ConfigDef.Range``, ``ValidString``, ``CaseInsensitiveValidString``,
``ValidList``, ``NonEmptyString`` and ``NonNullValidator``, with Kafka's descriptions
(``[1,...]``, ``[compact, delete]``) and messages. A validator also checks the default
when a key is defined, so a wrong entry in a table fails at import.

The broker and topic tables built from this live in :mod:`.broker_configs` and
:mod:`.topic_configs`. Spec: ``docs/ops.html`` and Kafka's ``ConfigDef``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Final


class ConfigProblem:
    """One thing wrong with a configuration, and the key it is about (if any)."""

    __slots__ = ("key", "message")

    def __init__(self, key: str | None, message: str) -> None:
        self.key = key
        self.message = message

    def __repr__(self) -> str:
        return f"ConfigProblem({self.key!r}, {self.message!r})"


class ConfigError(ValueError):
    """A configuration that cannot be used: every problem found, each naming its key."""

    def __init__(self, problems: Sequence[ConfigProblem] | str, key: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(key, problems)]
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(problem.message for problem in self.problems))

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys the problems are about, in order, without repeats."""
        return tuple(dict.fromkeys(p.key for p in self.problems if p.key is not None))


def invalid_value(name: str, value: object, message: str) -> ConfigError:
    """Kafka's ``ConfigException(name, value, message)``: the key, the value, the reason."""
    return ConfigError(f"Invalid value {value} for configuration {name}: {message}", name)


class ConfigType(Enum):
    """The types of ``ConfigDef.Type``; the values are DescribeConfigs' ``ConfigType`` ids."""

    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9

    @property
    def label(self) -> str:
        """The lower-case name Kafka's documentation uses."""
        return self.name.lower()


class Importance(Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class UpdateMode(Enum):
    """Whether and how a broker key can be changed without a restart (IncrementalAlterConfigs)."""

    READ_ONLY = "read-only"
    PER_BROKER = "per-broker"
    CLUSTER_WIDE = "cluster-wide"


class _Required:
    """The default of a key that must be given (Kafka's ``NO_DEFAULT_VALUE``)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


class Password:
    """A secret value: compares by value, prints as ``[hidden]`` like Kafka's ``Password``."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Password) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return "[hidden]"

    __str__ = __repr__


# ---------------------------------------------------------------------------- validators


class Validator:
    """Checks a parsed value; ``str()`` is the "Valid Values" text of Kafka's docs."""

    def check(self, name: str, value: Any) -> None:
        raise NotImplementedError


class Range(Validator):
    """``ConfigDef.Range``: a number within inclusive bounds (either may be open)."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low = low
        self.high = high

    def check(self, name: str, value: Any) -> None:
        if value is None:
            raise invalid_value(name, None, "Value must be non-null")
        if self.low is not None and value < self.low:
            raise invalid_value(name, value, f"Value must be at least {self.low}")
        if self.high is not None and value > self.high:
            raise invalid_value(name, value, f"Value must be no more than {self.high}")

    def __str__(self) -> str:
        low = "" if self.low is None else f"{self.low},"
        high = "" if self.high is None else f",{self.high}"
        return f"[{low}...{high}]"


def at_least(low: float) -> Range:
    return Range(low, None)


def between(low: float, high: float) -> Range:
    return Range(low, high)


class OneOf(Validator):
    """``ValidString`` (exact) or ``CaseInsensitiveValidString``: one of a fixed set."""

    def __init__(self, *choices: str, case_insensitive: bool = False) -> None:
        self.case_insensitive = case_insensitive
        self.choices = tuple(c.upper() for c in choices) if case_insensitive else choices

    def check(self, name: str, value: Any) -> None:
        if self.case_insensitive:
            if value is None or value.upper() not in self.choices:
                raise invalid_value(
                    name,
                    value,
                    "String must be one of (case insensitive): " + ", ".join(self.choices),
                )
        elif value not in self.choices:
            raise invalid_value(name, value, "String must be one of: " + ", ".join(self.choices))

    def __str__(self) -> str:
        listed = "[" + ", ".join(self.choices) + "]"
        return f"(case insensitive) {listed}" if self.case_insensitive else listed


class ValidList(Validator):
    """``ConfigDef.ValidList``: no duplicates, no empty entries, optionally a fixed set."""

    def __init__(
        self, *choices: str, empty_allowed: bool = True, null_allowed: bool = False
    ) -> None:
        self.choices = choices
        self.empty_allowed = empty_allowed
        self.null_allowed = null_allowed

    def check(self, name: str, value: Any) -> None:
        if value is None:
            if self.null_allowed:
                return
            raise ConfigError(f"Configuration '{name}' values must not be null.", name)
        if not value and not self.empty_allowed:
            valid = "any non-empty value" if not self.choices else str(self)
            raise ConfigError(
                f"Configuration '{name}' must not be empty. Valid values include: {valid}", name
            )
        if len(set(value)) != len(value):
            raise ConfigError(f"Configuration '{name}' values must not be duplicated.", name)
        for item in value:
            if not item:
                raise ConfigError(f"Configuration '{name}' values must not be empty.", name)
            if self.choices and item not in self.choices:
                raise invalid_value(name, item, "String must be one of: " + ", ".join(self.choices))

    def __str__(self) -> str:
        return "[" + ", ".join(self.choices) + "]" if self.choices else ""


class NonEmptyString(Validator):
    """``ConfigDef.NonEmptyString``: null is allowed, ``""`` is not."""

    def check(self, name: str, value: Any) -> None:
        if value is not None and value == "":
            raise invalid_value(name, value, "String must be non-empty")

    def __str__(self) -> str:
        return "non-empty string"


class NonNull(Validator):
    """``ConfigDef.NonNullValidator``."""

    def check(self, name: str, value: Any) -> None:
        if value is None:
            raise invalid_value(name, "null", "entry must be non null")

    def __str__(self) -> str:
        return "non-null string"


class Custom(Validator):
    """A rule of its own (Kafka's ``LambdaValidator`` and validator classes)."""

    def __init__(self, check: Callable[[str, Any], None], description: str) -> None:
        self._check = check
        self.description = description

    def check(self, name: str, value: Any) -> None:
        self._check(name, value)

    def __str__(self) -> str:
        return self.description


# ------------------------------------------------------------------------------- parsing

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
)
_COMMA = re.compile(r"\s*,\s*")
_INT_BOUNDS = {
    ConfigType.SHORT: (-(2**15), 2**15 - 1),
    ConfigType.INT: (-(2**31), 2**31 - 1),
    ConfigType.LONG: (-(2**63), 2**63 - 1),
}


def _java_trim(text: str) -> str:
    """``String.trim()``: strips every character up to and including space."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def parse_value(name: str, config_type: ConfigType, raw: str) -> Any:
    """Parse one property string as ``ConfigDef.parseType`` does, or raise ConfigError."""
    text = _java_trim(raw)
    if config_type is ConfigType.BOOLEAN:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise invalid_value(name, raw, "Expected value to be either true or false")
    if config_type is ConfigType.STRING or config_type is ConfigType.CLASS:
        return text
    if config_type is ConfigType.PASSWORD:
        return Password(text)
    if config_type is ConfigType.LIST:
        return () if not text else tuple(_COMMA.split(text))
    if config_type is ConfigType.DOUBLE:
        if not _DOUBLE.fullmatch(text):
            raise invalid_value(name, raw, f"Not a number of type {config_type.name}")
        return float(text.rstrip("fFdD"))
    low, high = _INT_BOUNDS[config_type]
    if not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
        raise invalid_value(name, raw, f"Not a number of type {config_type.name}")
    return int(text)


def java_double_string(value: float) -> str:
    """``Double.toString``: ``0.5``, ``100.0``, ``1.0E7``, ``1.7976931348623157E308``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    decimal_exponent = exponent + len(digits) - 1
    mantissa = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return ("-" if sign else "") + f"{mantissa}E{decimal_exponent}"


def to_kafka_string(value: Any, config_type: ConfigType) -> str | None:
    """A parsed value written back the way ``ConfigDef.convertToString`` writes it."""
    if value is None:
        return None
    if config_type is ConfigType.BOOLEAN:
        return "true" if value else "false"
    if config_type is ConfigType.LIST:
        return ",".join(value)
    if config_type is ConfigType.DOUBLE:
        return java_double_string(float(value))
    if config_type is ConfigType.PASSWORD:
        return str(value.value)
    return str(value)


# ---------------------------------------------------------------------------- definitions


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One configuration key, as ``ConfigDef.ConfigKey`` describes it."""

    name: str
    type: ConfigType
    default: Any
    importance: Importance
    doc: str
    validator: Validator | None = None
    mode: UpdateMode = UpdateMode.READ_ONLY
    internal: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not REQUIRED

    @property
    def default_string(self) -> str | None:
        """The default as Kafka prints it (None when there is none or it is null)."""
        return None if not self.has_default else to_kafka_string(self.default, self.type)

    @property
    def sensitive(self) -> bool:
        """Passwords are never shown (DescribeConfigs answers with a null value)."""
        return self.type is ConfigType.PASSWORD

    def parse(self, raw: str) -> Any:
        """Parse and validate one property string for this key."""
        value = parse_value(self.name, self.type, raw)
        if self.validator is not None:
            self.validator.check(self.name, value)
        return value


@dataclass(frozen=True)
class ConfigDef:
    """An ordered, read-only table of :class:`ConfigKey` by name."""

    keys: Mapping[str, ConfigKey] = field(default_factory=dict)

    @classmethod
    def of(cls, *groups: Sequence[ConfigKey]) -> ConfigDef:
        """Merge groups of keys; a name defined twice is a table error."""
        table: dict[str, ConfigKey] = {}
        for group in groups:
            for key in group:
                if key.name in table:
                    raise ValueError(f"configuration key {key.name} is defined twice")
                table[key.name] = key
        return cls(table)

    def __contains__(self, name: object) -> bool:
        return name in self.keys

    def __getitem__(self, name: str) -> ConfigKey:
        return self.keys[name]

    def __iter__(self) -> Iterator[ConfigKey]:
        return iter(self.keys.values())

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, name: str) -> ConfigKey | None:
        return self.keys.get(name)

    def parse(self, props: Mapping[str, str]) -> dict[str, Any]:
        """Every defined key's value: parsed from ``props`` or its default, validated.

        Keys of ``props`` that are not defined here are ignored (callers decide what an
        unknown key means). All problems are gathered into one :class:`ConfigError`.
        """
        values: dict[str, Any] = {}
        problems: list[ConfigProblem] = []
        for key in self.keys.values():
            try:
                if key.name in props:
                    values[key.name] = key.parse(props[key.name])
                elif key.has_default:
                    values[key.name] = key.default
                else:
                    raise ConfigError(
                        f'Missing required configuration "{key.name}" which has no default value.',
                        key.name,
                    )
            except ConfigError as error:
                problems.extend(error.problems)
        if problems:
            raise ConfigError(problems)
        return values


def define(
    name: str,
    config_type: ConfigType,
    default: Any,
    importance: Importance,
    validator: Validator | None = None,
    *,
    doc: str,
    mode: UpdateMode = UpdateMode.READ_ONLY,
    internal: bool = False,
) -> ConfigKey:
    """Define a key, checking the default against the type and the validator."""
    if default is not REQUIRED and default is not None:
        expected = _PYTHON_TYPES[config_type]
        if not isinstance(default, expected) or (
            config_type is not ConfigType.BOOLEAN and isinstance(default, bool)
        ):
            raise TypeError(f"default of {name} is {default!r}, not a {config_type.label}")
        bounds = _INT_BOUNDS.get(config_type)
        number: Any = default
        if bounds is not None and not bounds[0] <= number <= bounds[1]:
            raise ValueError(f"default of {name} does not fit a {config_type.label}")
    if validator is not None and default is not REQUIRED:
        validator.check(name, default)
    return ConfigKey(name, config_type, default, importance, doc, validator, mode, internal)


_PYTHON_TYPES: dict[ConfigType, type | tuple[type, ...]] = {
    ConfigType.BOOLEAN: bool,
    ConfigType.STRING: str,
    ConfigType.CLASS: str,
    ConfigType.PASSWORD: Password,
    ConfigType.LIST: tuple,
    ConfigType.DOUBLE: (float, int),
    ConfigType.SHORT: int,
    ConfigType.INT: int,
    ConfigType.LONG: int,
}

# Short names for the tables, which read better as columns.
BOOLEAN: Final = ConfigType.BOOLEAN
STRING: Final = ConfigType.STRING
INT: Final = ConfigType.INT
SHORT: Final = ConfigType.SHORT
LONG: Final = ConfigType.LONG
DOUBLE: Final = ConfigType.DOUBLE
LIST: Final = ConfigType.LIST
CLASS: Final = ConfigType.CLASS
PASSWORD: Final = ConfigType.PASSWORD
HIGH: Final = Importance.HIGH
MEDIUM: Final = Importance.MEDIUM
LOW: Final = Importance.LOW
PER_BROKER: Final = UpdateMode.PER_BROKER
CLUSTER_WIDE: Final = UpdateMode.CLUSTER_WIDE

# Units for defaults written as Kafka writes them (``7 * 24 * 60 * 60 * 1000L``).
SECOND_MS: Final = 1000
MINUTE_MS: Final = 60 * SECOND_MS
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS
KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB
INT_MAX: Final = 2**31 - 1
LONG_MAX: Final = 2**63 - 1
DOUBLE_MAX: Final = 1.7976931348623157e308
