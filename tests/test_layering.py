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
    [
        "_dates.py",
        "_countries.py",
        "_validation.py",
        "_canonical.py",
        "_codec.py",
        "_events.py",
        "_serialization.py",
    ],
)
def test_the_domain_imports_no_storage_and_no_projections(name):
    imported = set(_imports(PACKAGE / name))

    assert not {m for m in imported if m.startswith(("policytracker._log", "policytracker._projections"))}


@pytest.mark.parametrize(
    "path", [p for p in PACKAGE.rglob("*.py") if "testing" not in p.parts], ids=lambda p: p.name
)
def test_nothing_imports_the_testing_kit(path):
    assert not {m for m in _imports(path) if m.startswith("policytracker.testing")}


def _imported_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node.module, alias.name


@pytest.mark.parametrize("name", ["memory.py", "sqlite.py", "jsonl.py", "postgres.py"])
def test_a_store_imports_no_event_class_and_no_decoder(name):
    imported = set(_imported_names(PACKAGE / "_log" / name))

    assert not {m for m, _ in imported if m in ("policytracker._events", "policytracker._serialization")}
    assert {("policytracker._codec", "Index")} >= {(m, n) for m, n in imported if m == "policytracker._codec"}
    assert not {n for m, n in imported if m.startswith("policytracker._log") and n.startswith("decode")}


def test_the_codec_sits_below_the_event_classes():
    # The event classes derive their ids through the codec; the codec knows them only by their attrs
    # fields and the tags they are registered under.
    assert not {m for m in _imports(PACKAGE / "_codec.py") if m == "policytracker._events"}
