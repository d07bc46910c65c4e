"""The Python examples in the README and docs run, so they cannot rot."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _python_blocks(page):
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


WITH_EXAMPLES = [page for page in PAGES if _python_blocks(page)]


def test_the_main_pages_have_examples():
    assert {"README.md", "events.md", "log.md", "projections.md", "testing.md"} <= {
        p.name for p in WITH_EXAMPLES
    }


@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=[page.name for page in WITH_EXAMPLES])
def test_python_examples_run(page, tmp_path, monkeypatch, capsys):
    for name in re.findall(r"<!-- requires: (\w+) -->", page.read_text(encoding="utf-8")):
        pytest.importorskip(name)  # the page's examples need an optional package
    monkeypatch.chdir(tmp_path)  # examples may create files such as history.db
    blocks = _python_blocks(page)
    namespace = {"__name__": f"docs_{page.stem}"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


def test_the_api_reference_is_up_to_date():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    expected = module.generate()

    assert expected == (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), (
        "docs/api.md is stale: run python docs/gen_api.py > docs/api.md"
    )
    assert "(undocumented)" not in expected
