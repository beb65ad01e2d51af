"""Imports point one way: _core <- _serialization <- _store <- _runtime <- _facade <- public."""

from __future__ import annotations

import ast
import pathlib

import transact

SRC = pathlib.Path(__file__).parents[1] / "src" / "transact"
RANK = {
    "_core": 0,
    "_serialization": 1,
    "_store": 2,
    "_telemetry": 2,
    "_runtime": 3,
    "_facade": 4,
}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in RANK:
        return RANK[parts[1]]
    if parts[1:2] in (["errors"], ["_errors_base"]):
        return -1  # the error tree (and its bases) is shared by every layer
    return 5  # public modules


def test_imports_point_one_way() -> None:
    for path in SRC.rglob("*.py"):
        module = "transact." + ".".join(path.relative_to(SRC).with_suffix("").parts)
        own = _layer(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("transact")
            ):
                target = node.module
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("transact")]
                if not targets:
                    continue
                target = targets[0]
            else:
                continue
            if target == "transact":
                assert own == 5, f"{module} imports the public package"
                continue
            assert _layer(target) <= own, f"{module} (layer {own}) imports {target}"


def test_public_api_is_exactly_all() -> None:
    # "@py_builtins" and friends: pytest rewrites the modules of a distribution that
    # registers a plugin (transact's pytest11 entry point), adding those names.
    public = {name for name in vars(transact) if not name.startswith(("_", "@"))}
    submodules = {"dashboard", "error", "effects", "errors", "fx", "maintenance", "testing"}
    assert public - submodules == set(transact.__all__) - {"__version__"}
    for name in transact.__all__:
        assert getattr(transact, name) is not None
