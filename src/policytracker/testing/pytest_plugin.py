"""The pytest plugin installed with policytracker: the ``policytracker_log`` fixture.

pytest loads it by itself (entry point ``pytest11``). It needs neither Hypothesis nor PostgreSQL, imports
nothing from Hypothesis, and changes no setting of pytest or Hypothesis.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import policytracker as pt
from policytracker._log import hide_secrets, redact_url

if TYPE_CHECKING:
    from policytracker import EventLog

__all__ = ["POSTGRES_VARIABLE", "STORES", "policytracker_log"]

#: The environment variable holding the URL of a PostgreSQL server to test against (a database on it
#: where the user may create schemas), e.g. ``postgresql://postgres@127.0.0.1:5432/test``.
POSTGRES_VARIABLE = "POLICYTRACKER_TEST_POSTGRES"

#: The stores ``policytracker_log`` is parametrised over, read when pytest starts.
STORES: tuple[str, ...] = (
    "memory",
    "sqlite",
    "jsonl",
    *(("postgres",) if os.environ.get(POSTGRES_VARIABLE) else ()),
)


@pytest.fixture(params=STORES)
def policytracker_log(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EventLog]:
    """A fresh, empty event log, once in every store: ``[memory]``, ``[sqlite]``, ``[jsonl]``, and
    ``[postgres]`` when ``POLICYTRACKER_TEST_POSTGRES`` holds a server's URL (each test then works in a
    schema of its own, dropped afterwards). The log is closed after the test."""
    store: str = request.param
    if store == "postgres":
        with _schema(os.environ[POSTGRES_VARIABLE]) as url, pt.open_log(url) as log:
            yield log
        return
    target: str | os.PathLike[str] = ":memory:"
    if store != "memory":
        target = (
            tmp_path_factory.mktemp("policytracker_log") / f"log.{'db' if store == 'sqlite' else 'jsonl'}"
        )
    with pt.open_log(target) as log:
        yield log


@contextlib.contextmanager
def _schema(server: str) -> Iterator[str]:
    """The URL of a new, empty schema on *server*, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        pytest.fail(
            f"{POSTGRES_VARIABLE} is set, but PostgreSQL logs need the postgres extra: "
            "pip install 'policytracker[postgres]'",
            pytrace=False,
        )
    schema = f"policytracker_test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        reason = _without_password((str(exc).strip() or type(exc).__name__).splitlines()[0], server)
        pytest.fail(
            f"{POSTGRES_VARIABLE}: cannot create a schema on {_redacted(server)}: {reason}",
            pytrace=False,
        )
    try:
        yield _with_search_path(server, schema)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _with_search_path(url: str, schema: str) -> str:
    """*url* with libpq ``options`` that make *schema* the connection's search path (added to any options
    the URL already has)."""
    parts = urllib.parse.urlsplit(url)
    setting = f"-csearch_path={schema}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "options" for key, _ in query):
        query = [(key, f"{value} {setting}" if key == "options" else value) for key, value in query]
    else:
        query.append(("options", setting))
    return urllib.parse.urlunsplit(
        parts._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
    )


def _redacted(url: str) -> str:
    """*url* with its password, wherever it is given, replaced by ``***``."""
    return redact_url(url)


def _without_password(text: str, url: str) -> str:
    return hide_secrets(text, url)
