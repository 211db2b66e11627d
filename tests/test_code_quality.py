"""The code is held to its tools: ruff, ruff format, mypy, and the package import rules.

DESIGN.md: imports run one way, and the pure packages (the protocol codec, metadata,
the Raft core, the coordinators) never import trio, sockets, the clock or randomness,
so that a whole cluster can run deterministically under a simulated clock.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

PURE_PACKAGES = ("protocol", "metadata", "raft", "coordinator")
#: Modules a pure package must not import (its driver, outside it, owns these).
IMPURE_MODULES = ("trio", "socket", "time", "random", "asyncio", "threading", "selectors")
#: Which packages each package may import, per the dependency order in DESIGN.md.
ALLOWED = {
    "protocol": {"protocol"},
    "storage": {"protocol", "storage"},
    "raft": {"protocol", "storage", "raft"},
    "metadata": {"protocol", "storage", "metadata"},
    "coordinator": {"protocol", "storage", "coordinator", "metadata"},
    "tiering": {"protocol", "storage", "tiering"},
    "controller": {"protocol", "storage", "raft", "metadata", "coordinator", "controller"},
    "broker": {
        "protocol",
        "storage",
        "raft",
        "metadata",
        "coordinator",
        "tiering",
        "controller",
        "broker",
    },
}

GENERATOR_ONLY = {"odradek.protocol.generator"}
#: The configuration tables are a leaf every part of a node may read.
SHARED_LEAVES = ("odradek.node.config",)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_check() -> None:
    result = _run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    if shutil.which("mypy") is None and _run(sys.executable, "-m", "mypy", "--version").returncode:
        pytest.skip("mypy is not installed")
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _imports(path: object) -> set[str]:
    tree = ast.parse(open(path).read())  # type: ignore[call-overload]  # noqa: SIM115
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_package_import_rules() -> None:
    problems = []
    for path in sorted((REPO / "odradek").rglob("*.py")):
        rel = path.relative_to(REPO / "odradek")
        if len(rel.parts) < 2:
            continue
        package = rel.parts[0]
        module = "odradek." + ".".join(rel.with_suffix("").parts)
        if any(module.startswith(g) for g in GENERATOR_ONLY):
            continue
        for name in _imports(path):
            top = name.split(".")[0]
            if package in PURE_PACKAGES and top in IMPURE_MODULES:
                problems.append(f"{module} imports {name}: {package} must stay pure")
            if name.startswith(SHARED_LEAVES):
                continue
            if top == "odradek" and package in ALLOWED:
                target = name.split(".")[1] if "." in name else ""
                if target and target not in ALLOWED[package]:
                    problems.append(f"{module} imports {name}: {package} may not depend on it")
    assert not problems, "\n".join(problems)
