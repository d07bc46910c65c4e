"""docs/testing.md's examples pass as a user's own test files: pytest in a fresh process, outside this
project (so without its conftest and settings profile), with Hypothesis's default settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).parent.parent / "docs" / "testing.md"


def test_the_testing_page_examples_pass_as_a_users_tests_with_default_settings(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    for number, block in enumerate(blocks, 1):
        (tmp_path / f"test_example_{number}.py").write_text(block, encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYPOTHESIS")}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "error"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert 0 == result.returncode, result.stdout + result.stderr
    assert 5 <= len(blocks)
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
