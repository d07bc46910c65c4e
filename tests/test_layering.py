"""The import direction of STYLE.md: projections never import a store, the domain never imports storage,
and nothing imports the testing kit."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "policytracker"


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _modules(folder):
    return sorted((PACKAGE / folder).glob("*.py")) if folder else sorted(PACKAGE.glob("_*.py"))


@pytest.mark.parametrize("path", _modules("_projections"), ids=lambda p: p.name)
def test_projections_import_no_store_and_do_no_io(path):
    imported = set(_imports(path))

    assert not {m for m in imported if m.startswith("policytracker._log") and m != "policytracker._log._core"}
    assert not imported & {"sqlite3", "os", "pathlib", "io", "time", "random"}


@pytest.mark.parametrize(
    "name",
    ["_dates.py", "_countries.py", "_validation.py", "_canonical.py", "_events.py", "_serialization.py"],
)
def test_the_domain_imports_no_storage_and_no_projections(name):
    imported = set(_imports(PACKAGE / name))

    assert not {m for m in imported if m.startswith(("policytracker._log", "policytracker._projections"))}


@pytest.mark.parametrize(
    "path", [p for p in PACKAGE.rglob("*.py") if "testing" not in p.parts], ids=lambda p: p.name
)
def test_nothing_imports_the_testing_kit(path):
    assert not {m for m in _imports(path) if m.startswith("policytracker.testing")}
