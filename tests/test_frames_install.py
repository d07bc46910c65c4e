"""The frames extra is optional: policytracker imports without pandas, and each frame function says how to
install it. These tests run whether pandas is installed or not."""

import subprocess
import sys

import pytest

import policytracker as pt


def test_importing_policytracker_does_not_import_pandas():
    code = "import sys, policytracker; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "False False" == result.stdout.strip()


@pytest.mark.parametrize(
    "call",
    [
        lambda log: pt.events_frame(log),
        lambda log: pt.states_frame(log),
        lambda log: pt.state_series_frame(log, "SV", ["2025"]),
    ],
    ids=["events_frame", "states_frame", "state_series_frame"],
)
def test_without_pandas_each_frame_says_how_to_install_it(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    log = pt.open_log(":memory:")
    log.append([pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)])

    with pytest.raises(ImportError, match=r'pip install "policytracker\[frames\]"') as caught:
        call(log)

    assert "pandas" == caught.value.name
