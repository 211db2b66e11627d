"""Lays the generated modules out on disk, one package per directory of the spec tree.

``clients/ProduceRequest.json`` becomes ``messages/clients/produce_request.py``; each
package gets an ``__init__.py`` index that imports its modules lazily, so a process
pays only for the messages it uses. The ``clients`` index also pairs requests with
responses by API key, which is what ApiVersions and request dispatch are built on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from odradek.protocol.generator.emit import HEADER, emit_module
from odradek.protocol.generator.spec import SPEC_DIRS, MessageSpec, load_all


def package_name(directory: str) -> str:
    return directory.replace("-", "_")


def _index(directory: str, specs: list[MessageSpec]) -> str:
    lines = [
        HEADER.format(path=f"{directory}/*.json").rstrip("\n"),
        f'"""Messages of ``{directory}/`` in Kafka\'s specs, imported on first use."""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import Any",
        "",
        "#: Class name -> module name, for every message of this package.",
        "MODULES: dict[str, str] = {",
    ]
    lines += [f"    {s.name!r}: {s.module_name!r}," for s in specs]
    lines += ["}", ""]
    keyed = [s for s in specs if s.api_key is not None and s.type not in ("request", "response")]
    if keyed:
        lines.append("#: Record type (the spec's apiKey) -> class name.")
        lines.append("RECORD_TYPES: dict[int, str] = {")
        by_key = sorted(keyed, key=lambda s: s.api_key or 0)
        lines += [f"    {s.api_key}: {s.name!r}," for s in by_key]
        lines += ["}", ""]
    lines += [
        "",
        "def load(name: str) -> Any:",
        '    """The generated class called ``name``, importing its module on first use."""',
        '    module = importlib.import_module(f"{__name__}.{MODULES[name]}")',
        "    return getattr(module, name)",
        "",
    ]
    if directory == "clients":
        lines += _api_table(specs)
    return "\n".join(lines)


def _api_table(specs: list[MessageSpec]) -> list[str]:
    requests = {s.api_key or 0: s for s in specs if s.type == "request"}
    responses = {s.api_key or 0: s for s in specs if s.type == "response"}
    lines = [
        "",
        "class ApiSpec:",
        '    """One Kafka API as its specs define it."""',
        "",
        "    __slots__ = (",
        '        "deprecated",',
        '        "flexible_from",',
        '        "highest",',
        '        "key",',
        '        "latest_version_unstable",',
        '        "listeners",',
        '        "lowest",',
        '        "name",',
        '        "request",',
        '        "response",',
        "    )",
        "",
        "    def __init__(",
        "        self,",
        "        key: int,",
        "        name: str,",
        "        lowest: int,",
        "        highest: int,",
        "        flexible_from: int | None,",
        "        listeners: tuple[str, ...],",
        "        deprecated: tuple[int, int] | None,",
        "        latest_version_unstable: bool,",
        "    ) -> None:",
        "        self.key = key",
        "        self.name = name",
        '        self.request = name + "Request"',
        '        self.response = name + "Response"',
        "        self.lowest = lowest",
        "        self.highest = highest",
        "        self.flexible_from = flexible_from",
        "        self.listeners = listeners",
        "        self.deprecated = deprecated",
        "        self.latest_version_unstable = latest_version_unstable",
        "",
        "    def is_flexible(self, version: int) -> bool:",
        "        return self.flexible_from is not None and version >= self.flexible_from",
        "",
        "    def request_class(self) -> Any:",
        "        return load(self.request)",
        "",
        "    def response_class(self) -> Any:",
        "        return load(self.response)",
        "",
        "    def __repr__(self) -> str:",
        '        return f"ApiSpec({self.key}, {self.name!r}, {self.lowest}-{self.highest})"',
        "",
        "",
        "#: API key -> its spec, for every API in Kafka's specs.",
        "APIS: dict[int, ApiSpec] = {",
    ]
    for key in sorted(requests):
        req = requests[key]
        resp = responses[key]
        assert req.valid_versions == resp.valid_versions, req.name
        assert req.flexible_versions == resp.flexible_versions, req.name
        name = req.name.removesuffix("Request")
        flex = None if req.flexible_versions.empty else req.flexible_versions.lowest
        dep = req.deprecated_versions
        deprecated = None if dep.empty else (dep.lowest, dep.highest)
        lines.append(
            f"    {key}: ApiSpec({key}, {name!r}, {req.valid_versions.lowest}, "
            f"{req.valid_versions.highest}, {flex}, {req.listeners!r}, {deprecated!r}, "
            f"{req.latest_version_unstable}),"
        )
    lines += ["}", ""]
    return lines


def write_all(spec_root: Path, out: Path) -> list[Path]:
    """Generate every module under ``out``, replacing what was there."""
    specs = load_all(spec_root)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written: list[Path] = []
    (out / "__init__.py").write_text(
        HEADER.format(path="*").rstrip("\n")
        + '\n"""Every message of Kafka\'s specs, generated: one package per spec directory."""\n'
    )
    written.append(out / "__init__.py")
    for directory in SPEC_DIRS:
        group = [s for s in specs if s.directory == directory]
        pkg = out / package_name(directory)
        pkg.mkdir()
        for spec in group:
            path = pkg / f"{spec.module_name}.py"
            path.write_text(emit_module(spec))
            written.append(path)
        (pkg / "__init__.py").write_text(_index(directory, group))
        written.append(pkg / "__init__.py")
    return written
