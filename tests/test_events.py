import inspect
import pickle
import uuid
from decimal import Decimal

import attrs
import pytest
from hypothesis import given

import policytracker as pt
from policytracker.testing import events

PK_SV = dict(occurred="2025-07", countries=("SV", "pk"), areas=("knowledge sharing",))


def purchase(**changes):
    fields = dict(occurred="2025-06", country="SV", amount=7)
    fields.update(changes)
    return pt.ReservePurchase(**fields)


def test_country_codes_are_normalised():
    assert "SV" == purchase(country="sv").country


def test_partnership_countries_are_sorted_and_belong_to_both():
    partnership = pt.PartnershipFormed(**PK_SV)

    assert ("PK", "SV") == partnership.countries


@pytest.mark.parametrize(
    ("countries", "message"),
    [(("PK",), "at least two distinct"), (("PK", "pk"), "listed twice"), ("PKSV", "tuple of country codes")],
)
def test_partnership_needs_two_distinct_countries(countries, message):
    with pytest.raises(pt.ValidationError, match=message):
        pt.PartnershipFormed(occurred="2025", countries=countries)


def test_unknown_country_names_class_field_and_value():
    with pytest.raises(pt.ValidationError) as info:
        purchase(country="XX")

    assert "country" == info.value.field
    assert "ReservePurchase.country" in str(info.value)
    assert "'XX'" in str(info.value)


@pytest.mark.parametrize("amount", [0, -1, "-7", Decimal("-0.5"), Decimal("NaN"), "7e3", True, None])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(pt.ValidationError, match="amount"):
        purchase(amount=amount)


def test_floats_are_refused_with_a_fix():
    with pytest.raises(pt.ValidationError, match=r"Decimal\('7.5'\)"):
        purchase(amount=7.5)


@pytest.mark.parametrize(("given", "stored"), [(7, "7"), ("7.50", "7.5"), (Decimal("6.238E+3"), "6238")])
def test_amounts_are_exact_canonical_decimals(given, stored):
    assert stored == str(purchase(amount=given).amount)


def test_a_zero_holdings_report_is_allowed_but_zero_megawatts_are_not():
    assert Decimal(0) == pt.HoldingsReported(occurred="2025", country="SV", amount=0).amount
    with pytest.raises(pt.ValidationError, match="megawatts"):
        pt.MiningPowerAllocated(occurred="2025", country="PK", megawatts=0)


def test_holders_must_be_a_positive_whole_number():
    with pytest.raises(pt.ValidationError, match="holders"):
        pt.AdoptionEstimated(occurred="2025", country="PK", holders=0)
    with pytest.raises(pt.ValidationError, match="holders"):
        pt.AdoptionEstimated(occurred="2025", country="PK", holders="20000000")


def test_a_lone_string_for_a_tuple_field_is_refused():
    with pytest.raises(pt.ValidationError, match="topics"):
        pt.PolicyStatement(occurred="2025", country="PK", text="x", topics="mining")


def test_enums_accept_their_value_and_name_choices_otherwise():
    assert (
        pt.ReserveStage.PLANNED == pt.ReserveAnnounced(occurred="2025", country="PK", stage="planned").stage
    )
    with pytest.raises(pt.ValidationError, match="'planned', 'established'"):
        pt.ReserveAnnounced(occurred="2025", country="PK", stage="maybe")


def test_a_visit_touches_both_countries_and_not_its_own():
    visit = pt.VisitPlanned(occurred="2024", country="SV", host="RU", official="Nayib Bukele")

    assert ("SV", "RU") == visit.countries
    with pytest.raises(pt.ValidationError, match="host"):
        pt.VisitPlanned(occurred="2024", country="SV", host="sv", official="Nayib Bukele")


def test_a_correction_replacement_must_be_standalone():
    retraction = pt.EventRetracted(occurred="2025", target=uuid.uuid4())
    with pytest.raises(pt.ValidationError, match="standalone"):
        pt.EventCorrected(occurred="2025", target=uuid.uuid4(), replacement=retraction)


def test_a_correction_belongs_to_its_replacements_countries():
    correction = pt.EventCorrected(occurred="2025", target=uuid.uuid4(), replacement=purchase())

    assert ("SV",) == correction.countries


def test_events_are_frozen():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        purchase().amount = Decimal(8)  # type: ignore[misc]


def test_the_same_fact_gets_the_same_id():
    assert purchase().event_id == purchase().event_id
    assert purchase() == purchase()


def test_different_content_gets_a_different_id():
    assert purchase().event_id != purchase(amount=8).event_id
    assert purchase().event_id != purchase(note="x").event_id


def test_a_field_given_at_its_default_keeps_the_id():
    assert purchase().event_id == purchase(asset="BTC", price_usd=None, note="", sources=()).event_id


def test_evolve_re_derives_a_derived_id():
    changed = attrs.evolve(purchase(), amount=8)

    assert purchase(amount=8).event_id == changed.event_id


def test_evolve_keeps_an_explicit_id():
    explicit = uuid.UUID("00000000-0000-4000-8000-000000000001")

    assert explicit == attrs.evolve(purchase(event_id=explicit), amount=8).event_id


def test_derived_ids_are_stable_across_releases():
    # The derivation is a contract: stored logs and curated files depend on it.
    assert (
        uuid.UUID("d0ffe481-d6d9-5528-85be-c3c0add7e55c")
        == pt.ReservePurchase(occurred="2025-07", country="SV", amount=7).event_id
    )


@given(events())
def test_every_event_knows_its_countries(event):
    assert event.countries
    assert all(len(code) == 2 and code.isupper() for code in event.countries)


def test_builtin_tags_are_stable_strings():
    assert "reserve.purchase" == pt.ReservePurchase.__event_tag__
    assert pt.ReservePurchase is pt.event_class("reserve.purchase")
    assert 20 <= len(pt.registered_event_types())


def test_an_unknown_tag_is_a_lookup_error_naming_it():
    with pytest.raises(LookupError, match=r"'no\.such'"):
        pt.event_class("no.such")


def test_users_register_their_own_event_types():
    @pt.event_type("test.sanctions_evaded")
    @attrs.frozen(kw_only=True)
    class SanctionsEvaded(pt.CountryEvent):
        method: str

    event = SanctionsEvaded(occurred="2024", country="ru", method="crypto")

    assert ("RU",) == event.countries
    assert "test.sanctions_evaded" == event.tag
    assert event == pt.event_from_json(pt.event_to_json(event))


@pt.event_type("test.funds_frozen")
@attrs.frozen(kw_only=True)
class FundsFrozen(pt.CountryEvent):
    """A user's own event class (at module level, so that pickle can find it)."""

    amount: int


def test_users_event_read_back_evolves_and_pickles_like_the_original():
    derived = FundsFrozen(occurred="2024", country="RU", amount=1)
    given = FundsFrozen(occurred="2024", country="RU", amount=1, event_id=uuid.UUID(int=9))

    for event in (derived, given):
        read_back = pt.event_from_json(pt.event_to_json(event))
        for twin in (read_back, pickle.loads(pickle.dumps(read_back))):
            assert event == twin
            assert attrs.evolve(event, amount=2).event_id == attrs.evolve(twin, amount=2).event_id
    assert FundsFrozen(occurred="2024", country="RU", amount=2).event_id == (
        attrs.evolve(pt.event_from_json(pt.event_to_json(derived)), amount=2).event_id
    )


def test_a_tag_cannot_be_taken_twice():
    with pytest.raises(ValueError, match="already registered"):

        @pt.event_type("reserve.purchase")
        @attrs.frozen(kw_only=True)
        class Other(pt.CountryEvent):
            pass


@pytest.mark.parametrize("tag", ["Reserve.Purchase", "reserve purchase", "", "reserve."])
def test_malformed_tags_are_refused(tag):
    with pytest.raises(ValueError, match="tag"):
        pt.event_type(tag)


def test_reserved_field_names_are_refused():
    with pytest.raises(ValueError, match="reserved"):

        @pt.event_type("test.reserved")
        @attrs.frozen(kw_only=True)
        class Bad(pt.CountryEvent):
            version: int


def test_upcasters_with_gaps_are_refused_at_registration():
    with pytest.raises(ValueError, match="consecutive"):
        pt.event_type("test.gappy", version=4, upcasters={1: dict, 3: dict})


def test_an_unregistered_subclass_cannot_be_made():
    @attrs.frozen(kw_only=True)
    class Unregistered(pt.CountryEvent):
        pass

    with pytest.raises(TypeError, match="event_type"):
        Unregistered(occurred="2025", country="PK")


@pytest.mark.parametrize(
    ("given", "stored"), [("-0", "0"), (Decimal("-0.00"), "0"), ("0.000", "0"), ("12.50", "12.5")]
)
def test_zero_and_trailing_zeros_have_one_canonical_form(given, stored):
    assert (
        stored == pt.event_to_dict(pt.HoldingsReported(occurred="2025", country="SV", amount=given))["amount"]
    )


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_an_integer_a_log_cannot_store_is_refused_when_the_event_is_made(value):
    @pt.event_type(f"test.events.wide_{'big' if value > 0 else 'small'}")
    @attrs.frozen(kw_only=True)
    class Wide(pt.CountryEvent):
        count: int

    with pytest.raises(pt.ValidationError, match=r"Wide.*64-bit|Wide.*range"):
        Wide(occurred="2025", country="PK", count=value)
    assert 2**64 - 1 == Wide(occurred="2025", country="PK", count=2**64 - 1).count


# -- the curator's key -----------------------------------------------------------------------------------

STORED_PURCHASE = (
    '{"amount":"7","country":"SV","event_id":"be0b2791-1c1e-5f18-a1bb-e76dba9b0c76","note":"Seven bitcoins '
    'bought despite the IMF agreement, per Economy Minister Hayem (June 2025).","occurred":"2025-06",'
    '"sources":[{"published":"2025-07","publisher":"Cryptonews","title":"Pakistan and El Salvador Strengthen '
    'Diplomatic Ties With New Crypto Alliance"}],"type":"reserve.purchase","version":1}'
)


def test_an_event_without_a_key_keeps_the_id_it_was_stored_with():
    # Stored before events had keys: the key at its default is left out of the content, so the id holds.
    stored = pt.event_from_json(STORED_PURCHASE)
    fields = pt.event_to_dict(stored)
    del fields["event_id"]

    assert "" == stored.key
    assert uuid.UUID("be0b2791-1c1e-5f18-a1bb-e76dba9b0c76") == pt.event_from_dict(fields).event_id
    assert STORED_PURCHASE == pt.event_to_json(stored)


def test_a_key_is_stored_with_the_event():
    keyed = purchase(key="sv-purchase-2025-06")

    assert "sv-purchase-2025-06" == pt.event_to_dict(keyed)["key"]
    assert keyed == pt.event_from_json(pt.event_to_json(keyed))
    assert "key" not in pt.event_to_dict(purchase())


def test_the_key_is_part_of_the_content_and_so_of_the_id():
    ids = {purchase().event_id, purchase(key="a").event_id, purchase(key="b").event_id}

    assert 3 == len(ids)
    assert purchase(key="a").event_id == attrs.evolve(purchase(), key="a").event_id


@pytest.mark.parametrize("key", ["SV purchase, June 2025", "sv/2025/06/1", "Ünïcode, ok", "x" * 500])
def test_a_key_is_any_one_line_text(key):
    assert key == purchase(key=key).key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("two\nlines", "one line"),
        ("carriage\rreturn", "one line"),
        ("line\u2028separator", "one line"),
        (" padded", "spaces"),
        ("padded\t", "spaces"),
        (7, "expected a string"),
    ],
)
def test_a_key_that_is_not_one_trimmed_line_is_refused(key, message):
    with pytest.raises(pt.ValidationError, match=message) as info:
        purchase(key=key)

    assert "key" == info.value.field
    assert str(info.value).startswith("ReservePurchase.key: ")


def test_a_stored_key_of_two_lines_is_refused_on_reading():
    text = pt.event_to_json(purchase(key="one")).replace('"key":"one"', '"key":"one\\ntwo"')

    with pytest.raises(pt.SerializationError, match="key"):
        pt.event_from_json(text)


def test_construction_errors_name_the_class_and_keep_its_signature():
    with pytest.raises(TypeError, match=r"^ReservePurchase\.__init__\(\) missing 1 required keyword-only"):
        pt.ReservePurchase(country="SV", occurred="2025")
    with pytest.raises(
        TypeError, match=r"^ReservePurchase\.__init__\(\) got an unexpected keyword .*'bogus'"
    ):
        pt.ReservePurchase(country="SV", occurred="2025", amount=1, bogus=2)
    with pytest.raises(TypeError, match=r"positional"):
        pt.ReservePurchase("2025", country="SV", amount=1)
    assert list(inspect.signature(pt.ReservePurchase).parameters)[:2] == ["occurred", "sources"]


def test_a_users_class_of_any_init_signature_names_itself_in_its_errors():
    @pt.event_type("test.events.positional")
    @attrs.frozen
    class Positional(pt.Event):
        level: int = attrs.field(validator=attrs.validators.instance_of(int))
        country: str = attrs.field(default="PK", converter=pt.CountryEvent.__attrs_attrs__.country.converter)

    @pt.event_type("test.events.underscored")
    @attrs.frozen(kw_only=True)
    class Underscored(pt.Event):
        init: str = attrs.field(default="", alias="_init")
        country: str = attrs.field(default="PK", converter=pt.CountryEvent.__attrs_attrs__.country.converter)

    @pt.event_type("test.events.own_init")
    @attrs.frozen(kw_only=True, init=False)
    class OwnInit(pt.CountryEvent):
        def __init__(self, **fields):
            self.__attrs_init__(**fields)

    made = Positional(occurred="2025", level=3)
    assert made == Positional(3, occurred="2025")
    assert made.country == "PK"
    assert Underscored(occurred="2025", _init="x").init == "x"
    assert OwnInit(occurred="2025", country="SV").country == "SV"
    for make in (
        lambda: Positional(3, "Atlantis", occurred="2025"),
        lambda: Underscored(occurred="2025", country="Atlantis"),
        lambda: OwnInit(occurred="2025", country="Atlantis"),
    ):
        with pytest.raises(
            pt.ValidationError, match=r"^(Positional|Underscored|OwnInit)\.country: "
        ) as caught:
            make()
        assert caught.value.field == "country"


@pytest.mark.parametrize("asset", ["btc", "BTC", "usdt", "Usd-C", "bad symbol", "", 7, None, ["BTC"]])
def test_an_asset_symbol_is_read_the_same_way_every_time(asset):
    def made():
        try:
            return pt.ReservePurchase(country="SV", occurred="2025", amount=1, asset=asset).asset
        except pt.ValidationError as exc:
            return f"refused: {exc}"

    first = made()

    assert made() == first
    assert (
        first
        == f"refused: ReservePurchase.asset: expected an asset symbol such as 'BTC' or 'USDT', got {asset!r}"
        or (first == asset.upper())
    )


def test_a_str_subclass_does_not_change_how_later_asset_symbols_are_read():
    class Sym(str):
        def upper(self):
            return "ETH"

    pt.ReservePurchase(occurred="2025", country="SV", amount=1, asset=Sym("btc"))

    assert pt.ReservePurchase(occurred="2025", country="SV", amount=1, asset="btc").asset == "BTC"


def test_values_that_only_claim_a_class_are_not_taken_for_it():
    class Claiming:
        def __init__(self, wrapped):
            self._wrapped = wrapped

        @property
        def __class__(self):
            return type(self._wrapped)

        def __iter__(self):
            return iter(self._wrapped)

        def __len__(self):
            return len(self._wrapped)

        def __getitem__(self, index):
            return self._wrapped[index]

    source = pt.Source(publisher="Reuters")
    with pytest.raises(pt.ValidationError, match=r"^ReservePurchase\.occurred: "):
        pt.ReservePurchase(occurred=Claiming(pt.FuzzyDate.parse("2025")), country="SV", amount=1)
    made = pt.ReservePurchase(occurred="2025", country="SV", amount=1, sources=Claiming((source,)))
    assert type(made.sources) is tuple
    assert made.sources == (source,)


def test_an_amount_of_a_decimal_subclass_is_stored_as_a_plain_decimal():
    class Amount(Decimal):
        pass

    for amount in (Amount("7"), Amount("7.00"), Amount("0.5")):
        made = pt.ReservePurchase(occurred="2025", country="SV", amount=amount)
        assert type(made.amount) is Decimal
        assert made == pt.ReservePurchase(occurred="2025", country="SV", amount=Decimal(amount))
