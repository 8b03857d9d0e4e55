"""Lazy package re-exports: every name resolves to its submodule's object, and the
TYPE_CHECKING imports type checkers read name exactly the re-exports."""

import ast
import importlib
from pathlib import Path

import pytest

import viddiff

LAZY_PACKAGES = sorted(
    ".".join(path.relative_to(Path(viddiff.__file__).parents[1]).parent.parts)
    for path in Path(viddiff.__file__).parent.rglob("__init__.py")
    if "lazy_exports(" in path.read_text()
)


def type_checking_imports(package: str) -> dict[str, str]:
    """Name -> module of the `from ... import` statements under `if TYPE_CHECKING:`."""
    tree = ast.parse(Path(importlib.import_module(package).__file__).read_text())
    blocks = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING"]
    return {alias.name: node.module for block in blocks for node in block.body for alias in node.names}


def test_the_packages_that_load_heavy_submodules_are_lazy():
    assert {"viddiff.clip", "viddiff.data", "viddiff.evaluation", "viddiff.programs", "viddiff.report", "viddiff.systems"} <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_exports_resolve_and_match_the_type_checking_imports(package):
    module = importlib.import_module(package)
    imports = type_checking_imports(package)
    assert sorted(imports) == module.__all__
    for name, source in imports.items():
        value = getattr(importlib.import_module(source), name)  # first: importing a submodule sets a package attribute
        assert getattr(module, name) is value, name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing  # noqa: B018
