"""Kafka's JSON message specs, read into a small typed model.

Each file under ``shared/kafka-spec`` describes one message: its API key (if any), the
versions it exists in, the versions that are *flexible* (compact strings and arrays,
tagged fields), and a tree of fields. A field has a type (a primitive, ``[]T`` for an
array, or the name of a struct whose fields are given inline or in ``commonStructs``)
and version ranges saying when it is present, nullable and tagged.

The rules this module applies are those of Kafka's own generator
(``generator/src/main/java/org/apache/kafka/message``): a field without ``versions``
takes its ``taggedVersions``; ``default`` may be a string or a JSON literal; struct
types are resolved against the message's common structs.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

#: The highest version number a range can reach: Kafka versions are int16.
MAX_VERSION = 0x7FFF

PRIMITIVES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "float64",
        "string",
        "bytes",
        "records",
        "uuid",
    }
)

#: ``struct`` format characters of the fixed-width primitives.
FIXED_FORMATS = {
    "bool": "?",
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "uint16": "H",
    "uint32": "I",
    "float64": "d",
}

#: Directories of the spec tree that hold messages, in the order they are generated.
SPEC_DIRS = (
    "clients",
    "metadata",
    "raft",
    "group-coordinator",
    "transaction-coordinator",
    "storage",
)


@dataclass(frozen=True)
class Versions:
    """An inclusive range of versions; empty when ``lowest > highest``."""

    lowest: int
    highest: int

    @classmethod
    def parse(cls, text: str) -> Versions:
        text = text.strip()
        if text == "none":
            return NO_VERSIONS
        if text.endswith("+"):
            return cls(int(text[:-1]), MAX_VERSION)
        if "-" in text:
            lo, hi = text.split("-")
            return cls(int(lo), int(hi))
        return cls(int(text), int(text))

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.lowest <= version <= self.highest

    @property
    def empty(self) -> bool:
        return self.lowest > self.highest

    def intersect(self, other: Versions) -> Versions:
        return Versions(max(self.lowest, other.lowest), min(self.highest, other.highest))

    def __str__(self) -> str:
        if self.empty:
            return "none"
        if self.highest == MAX_VERSION:
            return f"{self.lowest}+"
        if self.lowest == self.highest:
            return str(self.lowest)
        return f"{self.lowest}-{self.highest}"


NO_VERSIONS = Versions(1, 0)


def snake_case(name: str) -> str:
    """Kafka's ``CamelCase`` (or ``camelCase``) field name as a Python attribute name."""
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    if keyword.iskeyword(out) or out in {"unknown_tagged_fields"}:
        out += "_"
    return out


@dataclass
class FieldSpec:
    """One field of a struct, as the spec declares it."""

    name: str
    type: str
    versions: Versions
    nullable_versions: Versions
    tagged_versions: Versions
    tag: int | None
    ignorable: bool
    default: object
    entity_type: str | None
    about: str
    flexible_versions: Versions | None  # a field-level override (only RequestHeader uses it)
    zero_copy: bool
    struct: StructSpec | None = None

    @property
    def py_name(self) -> str:
        return snake_case(self.name)

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        """The type of an array's elements, or the field's own type."""
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        """A struct, or an array of structs."""
        return self.element_type not in PRIMITIVES

    def present_in(self, version: int) -> bool:
        return version in self.versions

    def tagged_in(self, version: int) -> bool:
        return version in self.tagged_versions

    def nullable_in(self, version: int) -> bool:
        return version in self.nullable_versions

    @property
    def default_is_null(self) -> bool:
        return self.default is None or self.default == "null"


@dataclass
class StructSpec:
    """A named group of fields: a message's top level or one of its nested structs."""

    name: str
    fields: list[FieldSpec]
    about: str = ""
    #: The versions in which the struct can appear (its parent field's versions).
    versions: Versions = field(default_factory=lambda: NO_VERSIONS)

    def walk(self) -> list[StructSpec]:
        """This struct and every struct below it, children before parents, each once."""
        seen: dict[str, StructSpec] = {}

        def visit(s: StructSpec) -> None:
            for f in s.fields:
                if f.struct is not None and f.struct.name not in seen:
                    visit(f.struct)
            seen.setdefault(s.name, s)

        visit(self)
        return list(seen.values())

    def has_records(self) -> bool:
        """Whether a ``records`` field sits anywhere below this struct."""
        return any(
            f.type == "records" or (f.struct is not None and f.struct.has_records())
            for f in self.fields
        )


@dataclass(repr=False)
class MessageSpec:
    """One JSON spec file."""

    path: str  # relative to the spec root, e.g. "clients/ProduceRequest.json"
    name: str
    type: str  # request, response, header, metadata, data
    api_key: int | None
    valid_versions: Versions
    flexible_versions: Versions
    struct: StructSpec
    listeners: tuple[str, ...] = ()
    deprecated_versions: Versions = NO_VERSIONS
    latest_version_unstable: bool = False

    def __repr__(self) -> str:
        return f"MessageSpec({self.path!r})"

    @property
    def directory(self) -> str:
        return self.path.split("/")[0]

    @property
    def module_name(self) -> str:
        return snake_case(self.name)

    def is_flexible(self, version: int) -> bool:
        return version in self.flexible_versions


def _strip_comments(text: str) -> str:
    # The specs carry a licence header and occasional notes as whole-line // comments.
    return re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)


def _parse_field(raw: dict[str, object], common: dict[str, StructSpec]) -> FieldSpec:
    tagged = Versions.parse(str(raw["taggedVersions"])) if "taggedVersions" in raw else NO_VERSIONS
    versions = Versions.parse(str(raw["versions"])) if "versions" in raw else tagged
    flexible_override = raw.get("flexibleVersions")
    f = FieldSpec(
        name=str(raw["name"]),
        type=str(raw["type"]),
        versions=versions,
        nullable_versions=Versions.parse(str(raw.get("nullableVersions", "none"))),
        tagged_versions=tagged,
        tag=int(str(raw["tag"])) if "tag" in raw else None,
        ignorable=bool(raw.get("ignorable", False)),
        # A JSON null default means the same as the string "null".
        default="null" if "default" in raw and raw["default"] is None else raw.get("default"),
        entity_type=str(raw["entityType"]) if "entityType" in raw else None,
        about=str(raw.get("about", "")),
        flexible_versions=(
            Versions.parse(str(flexible_override)) if flexible_override is not None else None
        ),
        zero_copy=bool(raw.get("zeroCopy", False)),
    )
    if f.is_struct:
        sub = raw.get("fields")
        if sub is not None:
            assert isinstance(sub, list)
            f.struct = StructSpec(
                name=f.element_type,
                fields=[_parse_field(x, common) for x in sub],
                about=f.about,
                versions=versions,
            )
        else:
            f.struct = common[f.element_type]
    return f


def load_message(root: Path, path: Path) -> MessageSpec:
    raw = json.loads(_strip_comments(path.read_text()))
    valid = Versions.parse(str(raw["validVersions"]))
    common: dict[str, StructSpec] = {}
    # Common structs may refer to one another; Kafka's specs list them leaf first.
    for cs in raw.get("commonStructs", []):
        common[cs["name"]] = StructSpec(name=cs["name"], fields=[], versions=valid)
    for cs in raw.get("commonStructs", []):
        common[cs["name"]].fields = [_parse_field(x, common) for x in cs["fields"]]
    top = StructSpec(
        name=raw["name"],
        fields=[_parse_field(x, common) for x in raw["fields"]],
        versions=valid,
    )
    return MessageSpec(
        path=path.relative_to(root).as_posix(),
        name=raw["name"],
        type=raw["type"],
        api_key=raw.get("apiKey"),
        valid_versions=valid,
        flexible_versions=Versions.parse(raw["flexibleVersions"]),
        struct=top,
        listeners=tuple(raw.get("listeners", ())),
        deprecated_versions=Versions.parse(raw.get("deprecatedVersions", "none")),
        latest_version_unstable=bool(raw.get("latestVersionUnstable", False)),
    )


def load_all(root: Path) -> list[MessageSpec]:
    """Every message spec under ``root``, in a stable order."""
    return [
        load_message(root, path)
        for directory in SPEC_DIRS
        for path in sorted((root / directory).glob("*.json"))
    ]
