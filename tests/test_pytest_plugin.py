"""The pytest plugin: a fresh policytracker_log in every store, with or without Hypothesis."""

import os
import subprocess
import sys
import textwrap

import pytest

import policytracker as pt
from policytracker.testing.pytest_plugin import STORES, _redacted, _with_search_path


def test_the_fixture_is_a_fresh_empty_log(policytracker_log, request):
    assert request.node.callspec.id in {"memory", "sqlite", "jsonl", "postgres"}
    assert 0 == policytracker_log.head
    assert (1,) == policytracker_log.append(
        [pt.IMFRefusal(occurred="2025-07", country="PK", proposal="subsidy")]
    ).positions
    assert policytracker_log.verify().ok


def test_postgres_joins_the_stores_when_a_server_is_given():
    expected = ["memory", "sqlite", "jsonl"] + (
        ["postgres"] if os.environ.get("POLICYTRACKER_TEST_POSTGRES") else []
    )

    assert expected == list(STORES)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql://u@h/db?options=-csearch_path%3Ds1"),
        (
            "postgresql://u@h/db?sslmode=disable",
            "postgresql://u@h/db?sslmode=disable&options=-csearch_path%3Ds1",
        ),
        (
            "postgresql://u@h/db?options=-cstatement_timeout%3D5000",
            "postgresql://u@h/db?options=-cstatement_timeout%3D5000%20-csearch_path%3Ds1",
        ),
    ],
)
def test_the_schema_is_added_to_the_url_options(url, expected):
    assert expected == _with_search_path(url, "s1")


def test_a_password_is_never_shown():
    assert "postgresql://u:***@h:5432/db" == _redacted("postgresql://u:secret@h:5432/db")
    assert "postgresql://u@h/db" == _redacted("postgresql://u@h/db")


def test_the_plugin_loads_without_importing_hypothesis():
    script = "import sys; import policytracker.testing.pytest_plugin; print('hypothesis' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert "False" == output.stdout.strip()


USER_TESTS = """
import policytracker as pt


def test_my_code_against_every_store(policytracker_log):
    policytracker_log.append([pt.ReservePurchase(occurred="2025-07", country="SV", amount=7)])
    assert 1 == policytracker_log.head
"""


# Makes Hypothesis impossible to import, as if it were not installed.
HIDE_HYPOTHESIS = """
class Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "hypothesis":
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Hidden())
"""


def _run_pytest(folder, *arguments, hide_hypothesis=False):
    hide = HIDE_HYPOTHESIS if hide_hypothesis else ""
    script = f"import sys\n{hide}\nimport pytest\nsys.exit(pytest.main(sys.argv[1:]))"
    environment = {key: value for key, value in os.environ.items() if key != "HYPOTHESIS_PROFILE"}
    return subprocess.run(
        [sys.executable, "-c", script, "-p", "no:cacheprovider", "-v", *arguments],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_a_users_test_runs_once_per_store_even_without_hypothesis(tmp_path):
    (tmp_path / "test_mine.py").write_text(textwrap.dedent(USER_TESTS), encoding="utf-8")

    result = _run_pytest(tmp_path, "-p", "no:hypothesispytest", "test_mine.py", hide_hypothesis=True)

    assert 0 == result.returncode, result.stdout + result.stderr
    for store in STORES:
        assert f"test_my_code_against_every_store[{store}] PASSED" in result.stdout
