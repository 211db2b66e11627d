"""Hypothesis strategies for any generated message at any version, built from the specs.

A value drawn for version ``v`` holds random values in the fields that ``v`` carries
and defaults everywhere else, so that encoding and decoding it must give it back
exactly.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from hypothesis import strategies as st

from odradek.protocol.generator.emit import ModuleEmitter
from odradek.protocol.generator.spec import FieldSpec, MessageSpec, StructSpec, load_all
from odradek.protocol.generator.write import package_name
from tests.conftest import SPEC_ROOT

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
}

#: Unknown tagged fields use tags no spec assigns, so they stay unknown when read back.
UNKNOWN_TAGS = st.lists(
    st.tuples(st.integers(1000, 1010), st.binary(max_size=8)),
    max_size=2,
    unique_by=lambda t: t[0],
).map(lambda items: sorted(items) or None)


@cache
def all_specs() -> tuple[MessageSpec, ...]:
    return tuple(load_all(SPEC_ROOT))


def message_class(spec: MessageSpec) -> Any:
    module = importlib.import_module(
        f"odradek.protocol.messages.{package_name(spec.directory)}.{spec.module_name}"
    )
    return getattr(module, spec.name)


def cases() -> list[tuple[MessageSpec, int]]:
    """Every (message, version) pair the specs define."""
    return [
        (spec, v)
        for spec in all_specs()
        for v in range(spec.valid_versions.lowest, spec.valid_versions.highest + 1)
    ]


class Strategies:
    """Builds value strategies for one message spec."""

    def __init__(
        self,
        spec: MessageSpec,
        *,
        ints: dict[str, tuple[int, int]] | None = None,
        override: Callable[[FieldSpec], st.SearchStrategy[Any] | None] | None = None,
    ):
        self.spec = spec
        self.override = override
        self.module = importlib.import_module(message_class(spec).__module__)
        self.emitter = ModuleEmitter(spec)
        self.ints = ints or INT_RANGES

    def message(self, version: int) -> st.SearchStrategy[Any]:
        return self.struct(self.spec.struct, version)

    def struct(self, s: StructSpec, version: int) -> st.SearchStrategy[Any]:
        cls = getattr(self.module, s.name)
        fields: dict[str, st.SearchStrategy[Any]] = {}
        for f in s.fields:
            if f.present_in(version):
                fields[f.py_name] = self.field(f, version)
        if self.spec.is_flexible(version):
            fields["unknown_tagged_fields"] = UNKNOWN_TAGS
        return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))

    def field(self, f: FieldSpec, version: int) -> st.SearchStrategy[Any]:
        if f.is_array:
            element = self.scalar(f.element_type, f, version)
            value: st.SearchStrategy[Any] = st.lists(element, max_size=3)
        else:
            value = self.scalar(f.type, f, version)
        if f.nullable_in(version):
            value = st.none() | value
        return value

    def scalar(self, type_name: str, f: FieldSpec, version: int) -> st.SearchStrategy[Any]:
        special = self.override(f) if self.override else None
        if special is not None:
            return special
        if type_name in self.ints:
            lo, hi = self.ints[type_name]
            return st.integers(lo, hi)
        if type_name == "bool":
            return st.booleans()
        if type_name == "float64":
            return st.floats(allow_nan=False)
        if type_name == "string":
            return st.text(max_size=12)
        if type_name in ("bytes", "records"):
            return st.binary(max_size=24)
        if type_name == "uuid":
            return st.binary(min_size=16, max_size=16).map(lambda b: uuid.UUID(bytes=b))
        assert f.struct is not None
        return st.deferred(lambda: self.struct(f.struct, version))  # type: ignore[arg-type]
