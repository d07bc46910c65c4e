"""Amounts are exact: accepted up to a documented size, refused beyond it, and summed by projections in
their own decimal context, whatever the caller's is."""

import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker import _validation as pt_validation
from policytracker._validation import MAX_DIGITS

#: Amounts written with up to 42 integer digits and 18 decimal places: every size the limit allows.
wide_amounts = st.builds(
    lambda units, places: Decimal(units).scaleb(-places, decimal.Context(prec=MAX_DIGITS)),
    st.integers(1, 10**42 - 1) | st.integers(1, 10**6),
    st.integers(0, 18),
)


def _steps(amounts, kinds):
    events = []
    for day, (amount, kind) in enumerate(zip(amounts, kinds, strict=False), start=1):
        occurred = f"2025-01-{day:02d}" if day <= 31 else "2025-02"
        if kind == "buy":
            events.append(pt.ReservePurchase(occurred=occurred, country="SV", amount=amount))
        elif kind == "sell":
            events.append(pt.ReserveSale(occurred=occurred, country="SV", asset="BTC", amount=amount))
        else:
            events.append(pt.MiningPowerAllocated(occurred=occurred, country="SV", megawatts=amount))
    return events


histories = st.lists(wide_amounts, min_size=1, max_size=30).flatmap(
    lambda amounts: st.tuples(
        st.just(amounts), st.lists(st.sampled_from(["buy", "sell", "power"]), min_size=len(amounts))
    )
)


@given(histories)
def test_folding_does_not_depend_on_the_caller_s_decimal_context(history):
    events = _steps(*history)
    expected = pt.fold(pt.COUNTRY_STATES, events)

    with decimal.localcontext(decimal.Context(prec=4, traps=[])):
        actual = pt.fold(pt.COUNTRY_STATES, events)

    assert expected == actual


@given(histories)
def test_holdings_and_megawatts_are_exact_sums(history):
    held, megawatts = Fraction(0), Fraction(0)
    for amount, kind in zip(*history, strict=False):
        if kind == "buy":
            held += Fraction(amount)
        elif kind == "sell":
            held = max(Fraction(0), held - Fraction(amount))
        else:
            megawatts += Fraction(amount)

    with decimal.localcontext(decimal.Context(prec=4, traps=[])):
        state = pt.fold(pt.COUNTRY_STATES, _steps(*history)).get("SV")

    assert (held, megawatts) == (Fraction(state.holdings.get("BTC", 0)), Fraction(state.mining_megawatts))


def test_a_small_caller_precision_does_not_round_megawatts():
    events = [
        pt.MiningPowerAllocated(occurred="2025-05", country="PK", megawatts=2000),
        pt.MiningPowerAllocated(occurred="2025-06", country="PK", megawatts="0.5"),
    ]

    with decimal.localcontext() as context:
        context.prec = 4
        state = pt.fold(pt.COUNTRY_STATES, events)["PK"]

    assert Decimal("2000.5") == state.mining_megawatts


def test_large_exact_amounts_raise_no_spurious_conflict():
    big, more = "1" + "0" * 29, "1" + "0" * 29 + ".000000000000000001"
    events = [
        pt.HoldingsReported(occurred="2025-01", country="SV", amount=big, basis="ledger"),
        pt.ReservePurchase(occurred="2025-02", country="SV", amount="0.000000000000000001"),
        pt.HoldingsReported(occurred="2025-03", country="SV", amount=more, basis="ledger"),
    ]

    state = pt.fold(pt.COUNTRY_STATES, events)["SV"]

    assert ((), Decimal(more)) == (state.conflicts, state.holdings["BTC"])


@pytest.mark.parametrize(
    "amount",
    [
        "12345678901234567890.123456789012345678",  # 20 integer digits and 18 decimal places
        "9" * 42 + "." + "9" * 18,
        "9" * MAX_DIGITS,
        "0." + "0" * (MAX_DIGITS - 1) + "1",
        Decimal("1E+59"),
    ],
)
def test_amounts_up_to_the_limit_are_accepted_exactly(amount):
    assert Decimal(amount) == pt.ReservePurchase(occurred="2025", country="SV", amount=amount).amount


@pytest.mark.parametrize(
    "amount",
    [
        "9" * (MAX_DIGITS + 1),
        "9" * 42 + "." + "9" * 19,
        "0." + "0" * MAX_DIGITS + "1",
        Decimal("1E+60"),
        Decimal("1E-61"),
        Decimal("1E+999999999"),
        Decimal("1E-999999999"),
    ],
)
def test_amounts_beyond_the_limit_are_refused_naming_the_limit(amount):
    with pytest.raises(pt.ValidationError, match=f"at most {MAX_DIGITS} digits") as info:
        pt.ReservePurchase(occurred="2025", country="SV", amount=amount)

    assert "amount" == info.value.field


class _DecimalKind(Decimal):
    """A Decimal subclass: the converters take their general path for it, never the plain-digits one."""


@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.decimals(places=3)
    | st.sampled_from(["0", "-0", "0.0", "7.00", "7.50", "1E+3", "0E-5", "1" * 61, "1" * 60, "0.5"]).map(
        Decimal
    ),
    st.booleans(),
)
def test_a_decimal_is_converted_as_its_general_path_converts_it(number, allow_zero):
    def converted(value):
        try:
            return pt_validation.to_decimal(value, field="amount", allow_zero=allow_zero)
        except pt.ValidationError as exc:
            return str(exc)

    fast, general = converted(number), converted(_DecimalKind(number))

    assert str(fast) == str(general)
    assert isinstance(fast, str) or type(fast) is Decimal
