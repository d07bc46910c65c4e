"""DataFrames (the frames extra): events_frame, states_frame and state_series_frame, as docs/frames.md
describes them."""

import datetime as dt
import decimal
import io
import uuid
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import histories
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET

pd = pytest.importorskip("pandas")

COUNTRIES = ["PK", "SV", "RU"]
T1 = dt.datetime(2025, 7, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
T2 = dt.datetime(2025, 7, 18, 12, 0, tzinfo=dt.UTC)
T3 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
NEWS = pt.Source(publisher="Cryptonews", published="2025-07", title="Crypto alliance")
WIRE = pt.Source(publisher="Wire", url="https://example.org/a")

LEADING = [
    "position",
    "recorded_at",
    "event_id",
    "type",
    "countries",
    "occurred",
    "occurred_earliest",
    "occurred_latest",
    "occurred_precision",
]
TRAILING = ["key", "note", "publishers", "sources"]


def log_of(*batches):
    log = pt.open_log(":memory:", clock=StepClock(T1, T2, T3))
    for batch in batches:
        log.append(batch)
    return log


def buy(amount=7, occurred="2025-06", **fields):
    return pt.ReservePurchase(occurred=occurred, country="SV", amount=amount, **fields)


@pytest.fixture(scope="module")
def seeded():
    log = pt.open_log(":memory:")
    log.append(pt.load_events(DATASET))
    return log


# -- events_frame -----


def test_events_frame_has_the_leading_columns_then_the_fields_then_note_and_sources():
    frame = pt.events_frame(log_of([buy(price_usd="107000.5", sources=(NEWS,))]))

    assert [*LEADING, "country", "asset", "amount", "price_usd", *TRAILING] == list(frame.columns)


def test_events_frame_dtypes_are_those_documented():
    partnership = pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV"), areas=("policy",))
    ban = pt.CryptoBanChanged(occurred="2021", country="PK", scope="mining", banned=True)
    holders = pt.AdoptionEstimated(occurred="2025", country="PK", holders=20_000_000)
    frame = pt.events_frame(log_of([buy(), partnership, ban, holders]))

    expected = {
        "position": "int64",
        "recorded_at": "datetime64[us, UTC]",
        "event_id": "string",
        "type": "string",
        "countries": "object",
        "occurred": "string",
        "occurred_earliest": "object",
        "occurred_latest": "object",
        "occurred_precision": "string",
        "areas": "object",
        "instrument": "string",
        "country": "string",
        "asset": "string",
        "amount": "object",
        "price_usd": "object",
        "scope": "string",
        "banned": "boolean",
        "holders": "Int64",
        "key": "string",
        "note": "string",
        "publishers": "string",
        "sources": "object",
    }
    assert expected == {name: str(dtype) for name, dtype in frame.dtypes.items()}


def test_amounts_stay_exact_decimals_never_floats():
    frame = pt.events_frame(log_of([buy(amount="0.00000001"), buy(amount="12345678901234567890.123456789")]))

    amounts = frame.sort_values("position")["amount"].tolist()
    assert [Decimal("0.00000001"), Decimal("12345678901234567890.123456789")] == amounts
    assert {Decimal} == {type(amount) for amount in amounts}
    with decimal.localcontext(prec=60):  # sums run in the caller's decimal context
        assert Decimal("12345678901234567890.123456789") + Decimal("0.00000001") == frame["amount"].sum()


def test_recorded_at_is_timezone_aware_utc_to_the_microsecond():
    frame = pt.events_frame(log_of([buy()]))

    (moment,) = frame["recorded_at"]
    assert T1 == moment.to_pydatetime()
    assert dt.timedelta(0) == moment.utcoffset()


def test_a_vague_date_keeps_its_precision_and_gives_its_first_and_last_day_as_dates():
    frame = pt.events_frame(log_of([buy(occurred="2025-06"), buy(amount=1, occurred="2024")]))
    rows = frame.set_index("occurred")

    assert (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "year") == tuple(
        rows.loc["2024", ["occurred_earliest", "occurred_latest", "occurred_precision"]]
    )
    assert (dt.date(2025, 6, 1), dt.date(2025, 6, 30), "month") == tuple(
        rows.loc["2025-06", ["occurred_earliest", "occurred_latest", "occurred_precision"]]
    )
    assert {dt.date} == {type(day) for day in frame["occurred_latest"]}  # not pendulum, not strings


def test_a_fuzzy_date_field_is_four_columns_like_occurred():
    programme = pt.IMFProgramAgreed(occurred="2024", country="PK", amount_usd="7000000000", ends="2027")
    frame = pt.events_frame(log_of([programme]))

    row = frame.iloc[0]
    expected = ("2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31), "year", Decimal(7_000_000_000))
    actual = (row["ends"], row["ends_earliest"], row["ends_latest"], row["ends_precision"], row["amount_usd"])
    assert expected == actual


def test_missing_values_are_na_in_typed_columns_and_none_in_object_columns():
    statement = pt.PolicyStatement(occurred="2025", country="SV", text="Bitcoin stays.")
    rows = pt.events_frame(log_of([buy(), statement])).set_index("type")

    assert (None, None) == tuple(rows.loc["policy.statement", ["amount", "price_usd"]])
    assert rows.loc["reserve.purchase", "text"] is pd.NA
    assert rows.loc["policy.statement", "asset"] is pd.NA


def test_sources_are_a_tuple_of_dicts_and_their_distinct_publishers_joined():
    extra = pt.Source(publisher="Cryptonews", title="Another story")
    frame = pt.events_frame(log_of([buy(sources=(WIRE, NEWS, extra))]))

    row = frame.iloc[0]
    assert "Cryptonews; Wire" == row["publishers"]
    assert (
        {"publisher": "Cryptonews", "url": None, "title": "Another story", "published": None},
        {"publisher": "Cryptonews", "url": None, "title": "Crypto alliance", "published": "2025-07"},
        {"publisher": "Wire", "url": "https://example.org/a", "title": None, "published": None},
    ) == row["sources"]


def test_no_private_attrs_field_becomes_a_column(seeded):
    frame = pt.events_frame(seeded)

    assert [] == [name for name in frame.columns if name.startswith("_") or "given" in name]
    assert 1 == list(frame.columns).count("countries")  # a partnership's own countries are that column


def test_a_correction_shows_its_replacement_with_the_correction_records_position_and_stamp():
    wrong = buy(70)
    right = buy(7)
    log = log_of([wrong], [pt.EventCorrected(occurred="2025-06", target=wrong.event_id, replacement=right)])

    frame = pt.events_frame(log)

    assert [(str(right.event_id), 2, T2)] == [
        (row.event_id, row.position, row.recorded_at.to_pydatetime()) for row in frame.itertuples()
    ]
    assert [Decimal(7)] == frame["amount"].tolist()


def test_a_retracted_event_has_no_row_and_known_at_shows_what_was_known():
    report = pt.HoldingsReported(occurred="2025-07", country="SV", amount=6238)
    log = log_of([buy(), report], [pt.EventRetracted(occurred="2025-07", target=report.event_id)])

    assert ["reserve.purchase"] == pt.events_frame(log)["type"].tolist()
    assert ["reserve.purchase", "holdings.reported"] == pt.events_frame(log, known_at=T1)["type"].tolist()


def test_as_of_keeps_the_events_over_by_then(seeded):
    frame = pt.events_frame(seeded, as_of="2024-12-31")

    assert all(day <= dt.date(2024, 12, 31) for day in frame["occurred_latest"])
    assert len(pt.effective_events(seeded.read(), as_of="2024-12-31")) == len(frame)


def test_country_gives_that_countrys_timeline(seeded):
    frame = pt.events_frame(seeded, country="sv")

    assert [str(event.event_id) for event in pt.timeline(seeded, "SV")] == frame["event_id"].tolist()


def test_an_empty_log_gives_an_empty_frame_with_the_leading_and_trailing_columns():
    frame = pt.events_frame(pt.open_log(":memory:"))

    assert (0, [*LEADING, *TRAILING]) == (len(frame), list(frame.columns))
    assert "datetime64[us, UTC]" == str(frame["recorded_at"].dtype)


def test_a_bad_country_is_a_validation_error():
    with pytest.raises(pt.ValidationError, match="'XX'"):
        pt.events_frame(log_of([buy()]), country="XX")


@pt.event_type("test.frames.sighting")
@attrs.frozen(kw_only=True)
class Sighting(pt.CountryEvent):
    position: int  # clashes with a leading column
    confirmed: bool = False
    witness: uuid.UUID | None = None


def test_your_own_event_types_fields_become_columns_and_a_clash_gets_an_underscore():
    witness = uuid.UUID(int=5)
    frame = pt.events_frame(log_of([Sighting(occurred="2025", country="SV", position=-3, witness=witness)]))

    row = frame.iloc[0]
    assert (1, -3, False, str(witness)) == (
        row["position"],
        row["position_"],
        row["confirmed"],
        row["witness"],
    )
    assert ("Int64", "boolean", "string") == tuple(
        str(frame[name].dtype) for name in ("position_", "confirmed", "witness")
    )


# -- the law: the rows are the effective events -----


@given(histories(max_size=25, countries=COUNTRIES), st.sampled_from([None, *COUNTRIES]))
def test_events_frame_rows_are_exactly_the_effective_events(history, country):
    log = pt.open_log(":memory:")
    for event in history:
        log.append([event])
    records = {record.position: record for record in log.read()}

    frame = pt.events_frame(log, country=country)

    events = pt.effective_events(log.read()) if country is None else list(pt.timeline(log, country))
    assert [str(event.event_id) for event in events] == frame["event_id"].tolist()
    for event, position in zip(events, frame["position"], strict=True):
        held = records[position].event
        assert event in (held, getattr(held, "replacement", None))


# -- states_frame -----


def test_states_frame_has_a_row_per_country_with_every_country_state_field(seeded):
    frame = pt.states_frame(seeded)
    fields = [field.name for field in attrs.fields(pt.CountryState) if field.name != "last_occurred"]

    assert ["PK", "RU", "SV"] == frame["country"].tolist()
    assert ["Pakistan", "Russian Federation", "El Salvador"] == frame["country_name"].tolist()
    assert [
        "country",
        "country_name",
        *fields[1:],
        "last_occurred",
        "last_occurred_earliest",
        "last_occurred_latest",
        "last_occurred_precision",
    ] == list(frame.columns)


def test_states_frame_dtypes_are_those_documented(seeded):
    dtypes = {name: str(dtype) for name, dtype in pt.states_frame(seeded).dtypes.items()}

    assert {
        "country": "string",
        "country_name": "string",
        "event_count": "int64",
        "crypto_holders": "Int64",
    } == {name: dtypes[name] for name in ("country", "country_name", "event_count", "crypto_holders")}
    assert {"object"} == {
        dtypes[name] for name in ("holdings", "reported_assets", "mining_megawatts", "partners")
    }
    assert ("string", "object", "object", "string") == tuple(
        dtypes[f"last_occurred{part}"] for part in ("", "_earliest", "_latest", "_precision")
    )


def test_states_frame_cells_are_plain_exact_values(seeded):
    sv = pt.states_frame(seeded).set_index("country").loc["SV"]

    assert {"BTC": Decimal(6238)} == sv["holdings"]
    assert ("BTC",) == sv["reported_assets"]
    assert {"BTC": "legal_tender"} == sv["legal_tender"]
    assert ("PK",) == sv["partners"]
    assert Decimal(0) == sv["mining_megawatts"]
    assert "government figures" == sv["holdings_reports"]["BTC"]["basis"]
    assert ("2025-07", dt.date(2025, 7, 31), "month") == (
        sv["last_occurred"],
        sv["last_occurred_latest"],
        sv["last_occurred_precision"],
    )


def test_states_frame_says_a_figure_of_net_purchases_rests_on_no_report(seeded):
    sv = pt.states_frame(seeded, as_of="2025-06").set_index("country").loc["SV"]

    assert ({"BTC": Decimal(7)}, ()) == (sv["holdings"], sv["reported_assets"])


def test_states_frame_events_in_state_are_dicts_of_their_own_fields(seeded):
    pk = pt.states_frame(seeded).set_index("country").loc["PK"]

    (programme,) = pk["imf_programs"]
    assert ("imf.program_agreed", "2024", Decimal(7_000_000_000), "2027") == (
        programme["type"],
        programme["occurred"],
        programme["amount_usd"],
        programme["ends"],
    )
    assert "PVARA" == pk["regulators"][0]["acronym"]


@given(histories(max_size=25, countries=COUNTRIES))
def test_states_frame_rows_are_exactly_the_country_states(history):
    log = pt.open_log(":memory:")
    log.append(history)
    states = pt.country_states(log)

    frame = pt.states_frame(log)

    assert list(states) == frame["country"].tolist()
    assert [state.event_count for state in states.values()] == frame["event_count"].tolist()
    # None stands for {} only in a column without any entry (Arrow has no struct without fields).
    assert [dict(state.holdings) for state in states.values()] == [
        {} if cell is None else cell for cell in frame["holdings"].tolist()
    ]
    assert [tuple(sorted(state.reported_assets)) for state in states.values()] == frame[
        "reported_assets"
    ].tolist()


# -- state_series_frame -----


def test_state_series_frame_has_a_row_per_date_equal_to_the_state_then(seeded):
    dates = ["2021", dt.date(2025, 6, 30), "2025-07", "2021"]

    frame = pt.state_series_frame(seeded, "SV", dates)

    assert [dt.date(2021, 12, 31), dt.date(2025, 6, 30), dt.date(2025, 7, 31)] == frame["as_of"].tolist()
    assert [{}, {"BTC": Decimal(7)}, {"BTC": Decimal(6238)}] == frame["holdings"].tolist()
    assert [(), (), ("BTC",)] == frame["reported_assets"].tolist()
    assert [pt.country_state(seeded, "SV", as_of=day).event_count for day in dates[:3]] == frame[
        "event_count"
    ].tolist()
    assert ["as_of", "country", "country_name"] == list(frame.columns[:3])


def test_state_series_frame_of_no_dates_is_empty_with_its_columns(seeded):
    frame = pt.state_series_frame(seeded, "SV", [])

    assert (0, "as_of") == (len(frame), frame.columns[0])


# -- through Arrow: Parquet and Polars -----


def test_a_parquet_round_trip_keeps_amounts_exact_and_days_as_dates(seeded):
    pytest.importorskip("pyarrow")
    frame = pt.events_frame(seeded)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)

    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))

    assert frame["amount"].dropna().tolist() == back["amount"].dropna().tolist()
    assert frame["occurred_latest"].tolist() == back["occurred_latest"].tolist()
    assert frame["recorded_at"].tolist() == back["recorded_at"].tolist()


def test_state_frames_write_to_parquet(seeded):
    # Arrow has no struct without fields: a mapping column empty in every row (bans) holds None.
    pytest.importorskip("pyarrow")
    for frame in (pt.states_frame(seeded), pt.state_series_frame(seeded, "SV", ["2024", "2025-07"])):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)

        back = pd.read_parquet(io.BytesIO(buffer.getvalue()))

        assert frame["country"].tolist() == back["country"].tolist()
    states = pt.states_frame(seeded).set_index("country")
    assert (None, {}) == (states.loc["SV"]["bans"], states.loc["RU"]["holdings"])


def test_polars_reads_the_frames_through_arrow(seeded):
    pl = pytest.importorskip("polars")

    events = pl.from_pandas(pt.events_frame(seeded))
    states = pl.from_pandas(pt.states_frame(seeded))

    assert isinstance(events.schema["amount"], pl.Decimal)
    assert pl.Date == events.schema["occurred_latest"]
    assert [6238] == states.filter(pl.col("country") == "SV")["holdings"].struct.field("BTC").to_list()
