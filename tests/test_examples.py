"""Every example runs, and the tests an example ships pass.

An example that needs an optional package says so in a ``# requires: NAME, ...`` line; without it, its
tests are skipped.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def skip_unless_installed(script):
    """Skip the test unless every package the example *script* requires is installed."""
    for line in re.findall(r"^# requires: (.+)$", script.read_text(encoding="utf-8"), re.M):
        for name in (part.strip() for part in line.split(",")):
            if importlib.util.find_spec(name) is None:
                pytest.skip(f"{script.name} needs {name}, which is not installed")


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_each_example_runs(script):
    skip_unless_installed(script)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=EXAMPLES)

    assert 0 == result.returncode, result.stderr
    assert result.stdout.strip()


def test_replaying_as_of_several_dates_shows_policy_growing():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "replay_as_of.py")], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert "nothing known of El Salvador's BTC" in out[0]
    assert "El Salvador bought 7 BTC net (no holdings report)" in out[2]
    assert "El Salvador holds 6238 BTC" in out[-1]
    assert not [line for line in out if "holds 0 BTC" in line]
    assert "2000 MW for mining" in out[-1]


def test_known_at_answers_what_was_believed_then():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "known_at.py")], capture_output=True, text=True, check=True
    ).stdout

    assert "believed on 2025-06-23: 70" in out
    assert "known now: 7" in out


def test_the_custom_projection_example_passes_its_own_tests():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "imf_and_reserve.py"),
        ],
        capture_output=True,
        text=True,
        cwd=EXAMPLES,
    )

    assert 0 == result.returncode, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_analysis_example_frames_filters_and_follows_state_over_time():
    skip_unless_installed(EXAMPLES / "analysis.py")

    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "analysis.py")], capture_output=True, text=True, check=True
    ).stdout

    assert out.startswith("23 events, 15 types, 3 countries")
    assert "2021-12-31            1                     no figure known" in out
    assert "7 net purchases, no holdings report" in out
    assert "6238 (holdings report)" in out
    assert "holds 0" not in out


def test_the_analysis_example_without_pandas_says_what_to_install(tmp_path):
    hide = tmp_path / "sitecustomize.py"  # makes `import pandas` fail in the example's interpreter
    hide.write_text("import sys\nsys.modules['pandas'] = None\n")

    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "analysis.py")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )

    assert (1, "") == (result.returncode, result.stdout)
    assert 'needs pandas: pip install "policytracker[frames]"' in result.stderr
    assert "Traceback" not in result.stderr
