"""Every example runs, and the tests an example ships pass."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_each_example_runs(script):
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=EXAMPLES)

    assert 0 == result.returncode, result.stderr
    assert result.stdout.strip()


def test_replaying_as_of_several_dates_shows_policy_growing():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "replay_as_of.py")], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert "El Salvador holds 0 BTC" in out[0]
    assert "El Salvador holds 6238 BTC" in out[-1]
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
