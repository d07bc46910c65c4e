"""The examples run, and the tests they ship pass."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


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


def test_the_custom_projection_example_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "imf_and_reserve.py")], capture_output=True, text=True, check=True
    )

    assert "Pakistan has both" in result.stdout
