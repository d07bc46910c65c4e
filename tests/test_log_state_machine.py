"""log_state_machine: the log contract as a state machine passes every store and catches broken ones."""

import contextlib
import os
import uuid

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

import policytracker as pt
from policytracker.testing import log_state_machine
from tests.test_log_postgres import fresh_schema

QUICK = settings(max_examples=15, stateful_step_count=15, deadline=None)
# Hypothesis's explain phase adds most of the run time of a failing machine and nothing checked here.
BROKEN = settings(
    max_examples=50,
    stateful_step_count=10,
    deadline=None,
    database=None,
    derandomize=True,  # the same search every run: finding the flaw never depends on luck
    phases=[Phase.generate, Phase.shrink],
)


class _Stores:
    """new_log and reopen for a store kept at targets that new_target() makes."""

    def __init__(self, new_target):
        self.new_target = new_target
        self.targets = {}

    def opened(self, target):
        log = pt.open_log(target)
        self.targets[id(log)] = target
        return log

    def new_log(self):
        return self.opened(self.new_target())

    def reopen(self, log):
        target = self.targets.pop(id(log))
        log.close()
        return self.opened(target)


@pytest.mark.parametrize("suffix", [".db", ".jsonl"])
def test_the_file_stores_keep_the_contract(tmp_path, suffix):
    stores = _Stores(lambda: tmp_path / f"{uuid.uuid4().hex}{suffix}")

    run_state_machine_as_test(log_state_machine(stores.new_log, stores.reopen), settings=QUICK)


def test_the_memory_store_keeps_the_contract():
    run_state_machine_as_test(log_state_machine(lambda: pt.open_log(":memory:")), settings=QUICK)


@pytest.mark.skipif(
    not os.environ.get("POLICYTRACKER_TEST_POSTGRES"), reason="needs POLICYTRACKER_TEST_POSTGRES"
)
def test_the_postgres_store_keeps_the_contract():
    with contextlib.ExitStack() as schemas:
        stores = _Stores(lambda: schemas.enter_context(fresh_schema()))

        run_state_machine_as_test(log_state_machine(stores.new_log, stores.reopen), settings=QUICK)


class _ForgetsExpectedPosition:
    """A store that ignores expected_position."""

    def __init__(self):
        self.inner = pt.open_log(":memory:")

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __len__(self):
        return len(self.inner)

    def append(self, events, *, expected_position=None):
        return self.inner.append(events)


def test_a_store_that_ignores_expected_position_fails_with_a_short_example():
    with pytest.raises(AssertionError, match="must refuse") as info:
        run_state_machine_as_test(
            log_state_machine(_ForgetsExpectedPosition),
            settings=BROKEN,
        )

    steps = [line for line in "\n".join(info.value.__notes__).splitlines() if line.startswith("state.append")]
    assert len(steps) <= 4


def test_a_store_that_keeps_nothing_when_reopened_fails():
    with pytest.raises(AssertionError, match="after reopening"):
        run_state_machine_as_test(
            log_state_machine(lambda: pt.open_log(":memory:"), lambda log: pt.open_log(":memory:")),
            settings=BROKEN,
        )


@pytest.mark.parametrize(("new_log", "reopen"), [("x", None), (lambda: None, "x")])
def test_arguments_that_are_not_functions_are_refused(new_log, reopen):
    with pytest.raises(TypeError, match="function"):
        log_state_machine(new_log, reopen)
