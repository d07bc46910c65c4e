"""The store-conformance suite: every store must pass ``LogContract`` unchanged.

To test a store, subclass ``LogContract`` in a module whose name starts with ``test_`` and give it an
``opener`` fixture returning a function ``opener(clock=None) -> EventLog`` that opens the *same* store each
time it is called (a second handle on the same file or database), and set ``persistent`` to False when
reopening gives a fresh, empty store (as ``":memory:"`` does)::

    class TestSQLiteLog(LogContract):
        @pytest.fixture
        def opener(self, tmp_path):
            return lambda clock=None: open_log(tmp_path / "log.db", clock=clock)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pendulum
import pytest

import policytracker as pt

T0 = dt.datetime(2025, 7, 17, 9, 0, tzinfo=dt.UTC)


class StepClock:
    """A clock that returns the moments it is given, then keeps returning the last one."""

    def __init__(self, *moments: dt.datetime) -> None:
        self.moments = list(moments) or [T0]
        self.calls = 0

    def __call__(self) -> dt.datetime:
        moment = self.moments[min(self.calls, len(self.moments) - 1)]
        self.calls += 1
        return moment


def purchase(amount=7, country="SV", occurred="2025-06", **fields):
    return pt.ReservePurchase(occurred=occurred, country=country, amount=amount, **fields)


def partnership():
    return pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV"), areas=("knowledge sharing",))


def refusal():
    return pt.IMFRefusal(occurred="2025-07", country="PK", proposal="electricity subsidy for mining")


def expected_digests(records):
    """The digest chain computed independently, straight from docs/log.md ("The stored record and the digest
    chain")."""
    digest, out = "", []
    for record in records:
        canonical = json.dumps(
            {
                "event": json.loads(pt.event_to_json(record.event)),
                "position": record.position,
                "recorded_at": record.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        digest = hashlib.sha256((digest + canonical).encode("utf-8")).hexdigest()
        out.append(digest)
    return out


class LogContract:
    """Behaviour every ``EventLog`` store must show (docs/log.md, "The contract")."""

    persistent = True

    @pytest.fixture
    def opener(self):  # pragma: no cover - each store overrides it
        raise NotImplementedError

    @pytest.fixture
    def log(self, opener) -> Iterator[pt.EventLog]:
        log = opener(clock=StepClock())
        yield log
        log.close()

    # -- basics -----

    def test_a_new_log_is_empty(self, log):
        assert 0 == log.head
        assert 0 == len(log)
        assert [] == list(log.read())

    def test_it_is_an_event_log(self, log):
        assert isinstance(log, pt.EventLog)

    def test_append_assigns_gap_free_positions_from_one(self, log):
        first = log.append([purchase(), refusal()])
        second = log.append([partnership()])

        assert (1, 2) == first.positions
        assert (3,) == second.positions
        assert 3 == second.head == log.head == len(log)

    def test_read_returns_the_events_in_order(self, log):
        events = [purchase(), refusal(), partnership()]
        log.append(events[:2])
        log.append(events[2:])

        records = list(log.read())

        assert events == [record.event for record in records]
        assert [1, 2, 3] == [record.position for record in records]
        assert records == list(log)

    def test_read_is_lazy(self, log):
        log.append([purchase(), refusal()])

        reader = log.read()

        assert isinstance(reader, Iterator)
        assert 1 == next(reader).position

    def test_read_after_skips_earlier_positions(self, log):
        log.append([purchase(), refusal(), partnership()])

        assert [3] == [record.position for record in log.read(after=2)]
        assert [] == list(log.read(after=3))

    def test_append_result_holds_the_written_records(self, log):
        result = log.append([purchase()])

        assert [purchase()] == [record.event for record in result.written]
        assert list(log.read()) == list(result.written)

    # -- recorded_at -----

    def test_recorded_at_is_utc_with_microseconds(self, opener):
        moment = dt.datetime(2025, 7, 17, 11, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        with opener(clock=StepClock(moment)) as log:
            log.append([purchase()])
            (record,) = log.read()

        assert pendulum.datetime(2025, 7, 17, 9, 0, 0, 123456) == record.recorded_at
        assert type(record.recorded_at) is pendulum.DateTime
        assert "UTC" == record.recorded_at.timezone_name

    def test_one_append_shares_one_stamp(self, opener):
        with opener(clock=StepClock(T0, T0 + dt.timedelta(seconds=1))) as log:
            log.append([purchase(), refusal()])

            assert 1 == len({record.recorded_at for record in log.read()})

    def test_recorded_at_never_goes_backwards(self, opener):
        with opener(clock=StepClock(T0, T0 - dt.timedelta(days=1))) as log:
            log.append([purchase()])
            log.append([refusal()])
            first, second = log.read()

        assert first.recorded_at <= second.recorded_at

    def test_a_naive_clock_is_refused_and_nothing_written(self, opener):
        with opener(clock=lambda: dt.datetime(2025, 7, 17)) as log:
            with pytest.raises(pt.ValidationError, match="timezone-aware"):
                log.append([purchase()])
            assert 0 == log.head

    # -- idempotence, duplicates, atomicity -----

    def test_re_appending_the_same_event_is_a_reported_no_op(self, log):
        log.append([purchase()])

        result = log.append([purchase(), refusal()])

        assert (purchase().event_id,) == result.unchanged
        assert (2,) == result.positions
        assert 2 == log.head

    def test_the_same_event_twice_in_one_batch_is_written_once(self, log):
        result = log.append([purchase(), purchase()])

        assert (1,) == result.positions
        assert (purchase().event_id,) == result.unchanged

    def test_same_id_with_other_content_is_a_duplicate_and_nothing_is_written(self, log):
        explicit = uuid.UUID("00000000-0000-4000-8000-000000000007")
        log.append([purchase(event_id=explicit)])

        with pytest.raises(pt.DuplicateEventError, match=str(explicit)):
            log.append([refusal(), purchase(amount=8, event_id=explicit)])

        assert 1 == log.head
        assert [purchase(event_id=explicit)] == [record.event for record in log.read()]

    def test_a_bad_item_anywhere_writes_nothing(self, log):
        with pytest.raises(pt.ValidationError, match=r"events\[1\]"):
            log.append([purchase(), "not an event"])

        assert 0 == log.head

    @pytest.mark.parametrize("field", ["country", "occurred", "amount"])
    def test_an_event_changed_after_it_was_made_is_stored_as_it_now_is(self, log, field):
        # object.__setattr__ gets past a frozen class: what is stored, what the indexes say and what
        # reads give back must still agree with each other (the id stays the one it was made with).
        event = purchase(amount=2)
        changed = {"country": "PK", "occurred": pt.FuzzyDate.parse("2019-05"), "amount": Decimal(5)}[field]
        object.__setattr__(event, field, changed)
        log.append([event])

        (stored,) = [record.event for record in log.read()]
        assert getattr(stored, field) == changed
        assert stored.event_id == event.event_id
        assert list(log.read(country=stored.country)) != []
        assert list(pt.timeline(log, stored.country)) == [stored]
        assert pt.country_state(log, stored.country).holdings["BTC"] == stored.amount
        assert log.verify().ok

    @pytest.mark.parametrize(
        ("field", "value"), [("country", "ZZ"), ("asset", "b t c"), ("sources", None), ("amount", "7")]
    )
    def test_an_event_changed_to_a_value_no_constructor_allows_is_refused_and_nothing_written(
        self, log, field, value
    ):
        event = purchase()
        object.__setattr__(event, field, value)
        with pytest.raises(pt.ValidationError, match=rf"events\[0\]: .*{field}"):
            log.append([event])

        assert 0 == log.head
        assert log.verify().ok

    @pytest.mark.parametrize("value", ["not-a-uuid", None, 7])
    def test_an_event_id_changed_to_a_non_uuid_is_refused_and_nothing_written(self, log, value):
        event = purchase()
        object.__setattr__(event, "event_id", value)
        with pytest.raises(pt.ValidationError, match=r"events\[0\]: event_id"):
            log.append([event])

        assert 0 == log.head

    def test_an_event_id_of_a_uuid_subclass_is_stored_as_a_plain_uuid(self, log):
        class Shown(uuid.UUID):
            def __str__(self):
                return "11111111-1111-1111-1111-111111111111"

        given = Shown(int=5)
        event = purchase(event_id=given)
        assert type(event.event_id) is uuid.UUID
        assert str(event.event_id) == str(uuid.UUID(int=5))

        log.append([event])
        again = log.append([event])
        copy = log.append([purchase(event_id=uuid.UUID(int=5))])

        assert again.unchanged == (event.event_id,)
        assert copy.unchanged == (event.event_id,)
        assert [record.event.event_id for record in log.read()] == [uuid.UUID(int=5)]

    def test_a_single_event_must_be_wrapped_in_a_list(self, log):
        with pytest.raises(pt.ValidationError, match="iterable"):
            log.append(purchase())

    def test_appending_nothing_changes_nothing(self, log):
        result = log.append([])

        assert (0, ()) == (result.head, result.written)

    # -- optimistic concurrency -----

    def test_the_expected_position_must_be_the_head(self, log):
        log.append([purchase()], expected_position=0)

        with pytest.raises(pt.ConcurrencyError) as info:
            log.append([refusal()], expected_position=0)

        assert (0, 1) == (info.value.expected, info.value.actual)
        assert 1 == log.head
        assert (2,) == log.append([refusal()], expected_position=1).positions

    def test_a_negative_expected_position_is_refused(self, log):
        with pytest.raises(pt.ValidationError, match="expected_position"):
            log.append([purchase()], expected_position=-1)

    # -- retractions and corrections -----

    def test_a_retraction_must_target_an_event_in_the_log(self, log):
        log.append([purchase()])
        stray = pt.EventRetracted(occurred="2025-07", target=uuid.uuid4(), reason="never happened")

        with pytest.raises(pt.ValidationError, match="not in"):
            log.append([refusal(), stray])

        assert 1 == log.head

    def test_a_correction_may_target_an_event_earlier_in_the_same_batch(self, log):
        correction = pt.EventCorrected(
            occurred="2025-07", target=purchase().event_id, replacement=purchase(8)
        )

        assert (1, 2) == log.append([purchase(), correction]).positions

    def test_a_retraction_cannot_be_corrected_only_retracted(self, log):
        retraction = pt.EventRetracted(occurred="2025-07", target=purchase().event_id)
        log.append([purchase(), retraction])
        correction = pt.EventCorrected(occurred="2025-07", target=retraction.event_id, replacement=refusal())

        with pytest.raises(pt.ValidationError, match="retract it"):
            log.append([correction])
        undo = pt.EventRetracted(occurred="2025-07", target=retraction.event_id, reason="the report stands")
        assert (3,) == log.append([undo]).positions

    def test_read_by_country_follows_partnerships_retractions_and_corrections(self, log):
        retraction = pt.EventRetracted(occurred="2025-07", target=purchase().event_id)
        correction = pt.EventCorrected(
            occurred="2025-07", target=refusal().event_id, replacement=purchase(country="PK")
        )
        log.append([purchase(), refusal(), partnership(), retraction, correction])

        assert [1, 3, 4] == [record.position for record in log.read(country="sv")]
        assert [2, 3, 5] == [record.position for record in log.read(country="PK")]
        assert [] == list(log.read(country="RU"))

    def test_read_by_type_takes_classes_and_tags(self, log):
        log.append([purchase(), refusal(), partnership(), purchase(8)])

        assert [1, 4] == [r.position for r in log.read(types=[pt.ReservePurchase])]
        assert [2, 3] == [r.position for r in log.read(types=["imf.refusal", pt.PartnershipFormed])]
        assert [4] == [r.position for r in log.read(types=[pt.ReservePurchase], country="SV", after=1)]

    def test_read_refuses_unknown_countries_and_types(self, log):
        with pytest.raises(pt.ValidationError, match="'XX'"):
            list(log.read(country="XX"))
        with pytest.raises(pt.ValidationError, match=r"no.such"):
            list(log.read(types=["no.such"]))
        with pytest.raises(pt.ValidationError, match="after"):
            list(log.read(after=-1))

    # -- digests and verification -----

    def test_digests_follow_the_documented_chain(self, log):
        log.append([purchase(), refusal()])
        log.append([partnership()])
        records = list(log.read())

        assert expected_digests(records) == [record.digest for record in records]

    def test_verify_passes_on_an_intact_log(self, log):
        log.append([purchase(), refusal(), partnership()])

        report = log.verify()

        assert report.ok
        assert 3 == report.checked
        assert report.first_bad_position is None

    def test_explicit_ids_survive_storage(self, log):
        explicit = uuid.UUID("00000000-0000-4000-8000-000000000009")
        log.append([purchase(event_id=explicit)])

        (record,) = log.read()

        assert explicit == record.event.event_id

    # -- lifecycle -----

    def test_a_closed_log_refuses_work(self, opener):
        log = opener()
        log.close()
        log.close()

        with pytest.raises(ValueError, match="closed"):
            log.append([purchase()])
        with pytest.raises(ValueError, match="closed"):
            _ = log.head

    def test_the_context_manager_closes(self, opener):
        with opener() as log:
            pass

        with pytest.raises(ValueError, match="closed"):
            list(log.read())

    def test_reopening_keeps_every_record(self, opener):
        if not self.persistent:
            pytest.skip("this store keeps nothing once closed")
        with opener() as log:
            log.append([purchase(), refusal()])
        with opener() as log:
            assert [purchase(), refusal()] == [record.event for record in log.read()]
            assert log.verify().ok

    def test_head_is_live_across_handles(self, opener):
        if not self.persistent:
            pytest.skip("this store cannot be opened twice")
        with opener() as first, opener() as second:
            first.append([purchase()])
            assert 1 == second.head
            with pytest.raises(pt.ConcurrencyError):
                second.append([refusal()], expected_position=0)
            second.append([refusal()], expected_position=1)
            assert [1, 2] == [record.position for record in first.read()]

    # -- copying -----

    @pytest.mark.parametrize("kind", ["memory", "db", "jsonl"])
    def test_copy_keeps_positions_stamps_and_digests(self, log, tmp_path, kind):
        log.append([purchase(), refusal()])
        retraction = pt.EventRetracted(occurred="2025-07", target=purchase().event_id)
        log.append([partnership(), retraction])
        target = ":memory:" if kind == "memory" else tmp_path / f"copy.{kind}"
        with pt.open_log(target) as copy:
            assert 4 == pt.copy_log(log, copy)

            assert list(log.read()) == list(copy.read())
            assert copy.verify().ok
            assert [1, 3, 4] == [record.position for record in copy.read(country="SV")]

    def test_copy_refuses_a_destination_with_records(self, log):
        log.append([purchase()])
        with pt.open_log(":memory:") as other:
            other.append([refusal()])

            with pytest.raises(ValueError, match="empty destination"):
                pt.copy_log(log, other)


def rechain_sqlite(path):
    """Recompute every digest of the SQLite log at *path* from its stored records, as a log written by
    another version (a newer schema, say) would hold them: its chain is intact."""
    import sqlite3

    from policytracker._log._core import chain_digest

    with sqlite3.connect(path) as conn:
        digest = ""
        rows = conn.execute("SELECT position, recorded_at, event FROM records ORDER BY position").fetchall()
        for position, recorded_at, event in rows:
            digest = chain_digest(digest, position, recorded_at, event)
            conn.execute("UPDATE records SET digest = ? WHERE position = ?", (digest, position))


def rechain_jsonl(path):
    """:func:`rechain_sqlite` for a JSON Lines log: every line rewritten with its recomputed digest."""
    from policytracker._canonical import canonical_json
    from policytracker._log._core import chain_digest

    digest, lines = "", []
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        event = canonical_json(record["event"])
        digest = chain_digest(digest, record["position"], record["recorded_at"], event)
        lines.append(
            f'{{"digest":"{digest}","event":{event},"position":{record["position"]},'
            f'"recorded_at":"{record["recorded_at"]}"}}\n'
        )
    path.write_text("".join(lines), encoding="utf-8")


def small_sqlite_history(tmp_path):
    """A SQLite log of four records (two purchases, a refusal and a partnership) in *tmp_path*."""
    path = tmp_path / "history.db"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(), refusal(), partnership(), purchase(8)])
    return path
