"""Every store passes the conformance suite in ``log_contract``."""

import pytest

from policytracker import open_log
from tests.log_contract import LogContract


class TestMemoryLog(LogContract):
    persistent = False

    @pytest.fixture
    def opener(self):
        return lambda clock=None: open_log(":memory:", clock=clock)


class TestSQLiteLog(LogContract):
    @pytest.fixture
    def opener(self, tmp_path):
        return lambda clock=None: open_log(tmp_path / "log.db", clock=clock)


class TestJSONLinesLog(LogContract):
    @pytest.fixture
    def opener(self, tmp_path):
        return lambda clock=None: open_log(tmp_path / "log.jsonl", clock=clock)
