"""Inputs at the edges get a specific error naming what and where, never one from deep inside."""

import datetime as dt

import pytest

import policytracker as pt
from policytracker.testing.pytest_plugin import _redacted, _without_password


def test_an_event_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"type":"policy.statement"}\n\xff\n')

    with pytest.raises(pt.SerializationError, match=r"events\.jsonl: not UTF-8"):
        pt.load_events(path)


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"], ids=["after 9999", "before 1"]
)
def test_a_known_at_outside_the_calendar_in_utc_is_a_validation_error(moment):
    with pt.open_log(":memory:") as log, pytest.raises(pt.ValidationError, match="known_at"):
        pt.country_states(log, known_at=dt.datetime.fromisoformat(moment))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:s3cret@db.example/logs",
        "postgresql://alice@db.example/logs?password=s3cret",
        "postgresql://alice:s%33cret@db.example/logs",
        "postgresql://alice:s3cret@db.example:notaport/logs",
    ],
)
def test_the_pytest_plugin_never_shows_a_password(url):
    assert "s3cret" not in _redacted(url)
    assert "s3cret" not in _without_password(f"could not connect to {url}: password s3cret refused", url)


def test_a_password_holding_an_at_sign_is_hidden_in_every_piece_and_the_role_stays_named():
    from policytracker._log import hide_secrets, redact_url

    url = "postgresql://u:SE@CRET@127.0.0.1/test"
    message = hide_secrets(f"cannot connect to {url}: failed to resolve host 'CRET@127.0.0.1'", url)

    assert "CRET" not in message
    assert "SE@" not in redact_url(url)
    assert 'role "u"' in hide_secrets('FATAL: role "u" does not exist', "postgresql://u:SECRET@h/db")
