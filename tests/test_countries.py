import pycountry
import pytest

import policytracker as pt
from policytracker import ValidationError, country_name
from policytracker._countries import known_country_codes, normalize_country


@pytest.mark.parametrize(("value", "expected"), [("pk", "PK"), ("SV", "SV"), ("Ru", "RU")])
def test_codes_are_normalised_to_upper_case(value, expected):
    assert expected == normalize_country(value)


@pytest.mark.parametrize(("value", "expected"), [("PAK", "PK"), ("slv", "SV"), ("Rus", "RU"), ("GBR", "GB")])
def test_alpha_3_codes_are_stored_as_alpha_2(value, expected):
    assert expected == normalize_country(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("El Salvador", "SV"),
        ("el salvador", "SV"),
        ("PAKISTAN", "PK"),
        ("Russian Federation", "RU"),
        ("Bolivia", "BO"),  # pycountry's common name
        ("Bolivia, Plurinational State of", "BO"),  # its name
        ("Plurinational State of Bolivia", "BO"),  # its official name
        ("Türkiye", "TR"),
    ],
)
def test_exact_english_names_are_stored_as_alpha_2(value, expected):
    assert expected == normalize_country(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("EU", "EU"), ("eu", "EU"), ("European Union", "EU"), ("XK", "XK"), ("xk", "XK"), ("Kosovo", "XK")],
)
def test_the_european_union_and_kosovo_are_jurisdictions(value, expected):
    assert expected == normalize_country(value)
    assert {"EU", "XK"} <= known_country_codes()


@pytest.mark.parametrize(
    ("code", "expected"), [("EU", "European Union"), ("xk", "Kosovo"), ("SLV", "El Salvador")]
)
def test_country_name_names_every_jurisdiction(code, expected):
    assert expected == country_name(code)


@pytest.mark.parametrize("value", ["XX", "", " pk", "Salvador", "Pakistn", "UK", "a" * 300])
def test_unknown_countries_name_field_and_value(value):
    with pytest.raises(ValidationError) as info:
        normalize_country(value, field="host")

    assert "host" == info.value.field
    assert str(info.value).startswith(f"host: unknown country {value!r}")


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("Salvador", "did you mean 'SV' (El Salvador)?"),
        ("Pakistn", "did you mean 'PK' (Pakistan)?"),
        ("Russia", "did you mean 'RU' (Russian Federation)?"),
        (" pk", "did you mean 'PK' (Pakistan)?"),
        ("UK", "did you mean 'GB' (United Kingdom)?"),
        ("Turkiye", "did you mean 'TR' (Türkiye)?"),
        ("Kosova", "did you mean 'XK' (Kosovo)?"),
    ],
)
def test_a_near_miss_gets_a_hint(value, hint):
    with pytest.raises(ValidationError) as info:
        normalize_country(value)

    assert f"country: unknown country {value!r}: {hint}" == str(info.value)


@pytest.mark.parametrize("value", ["XX", "zzzz", "QQQ"])
def test_a_value_like_no_country_gets_the_accepted_forms_instead_of_a_hint(value):
    with pytest.raises(ValidationError) as info:
        normalize_country(value)

    assert "did you mean" not in str(info.value)
    assert "alpha-2 code such as 'PK'" in str(info.value)


def test_a_failing_fuzzy_search_still_gives_a_validation_error(monkeypatch):
    def broken(query):
        raise LookupError(query)

    monkeypatch.setattr(pycountry.countries, "search_fuzzy", broken)

    with pytest.raises(ValidationError, match="unknown country 'Russland'"):
        normalize_country("Russland")


def test_a_known_code_never_consults_pycountry_again(monkeypatch):
    normalize_country("SV")

    class Gone:
        def __getattr__(self, name):
            raise AssertionError(f"pycountry.countries.{name} was consulted")

    monkeypatch.setattr(pycountry, "countries", Gone())

    assert ("SV", "PK", "RU") == tuple(normalize_country(code) for code in ("SV", "pk", "RUS"))


def test_a_non_string_is_refused():
    with pytest.raises(ValidationError, match="expected an ISO 3166-1 alpha-2 code"):
        normalize_country(42)


def test_country_name_reads_pycountry():
    assert "El Salvador" == country_name("sv")


def test_event_constructors_accept_names_and_alpha_3_codes():
    purchase = pt.ReservePurchase(occurred="2025-06", country="El Salvador", amount=7)
    partnership = pt.PartnershipFormed(occurred="2025-07", countries=("Pakistan", "SLV"))
    visit = pt.VisitPlanned(occurred="2024", country="sv", host="Russian Federation", official="Nayib Bukele")

    assert "SV" == purchase.country
    assert ("PK", "SV") == partnership.countries
    assert "RU" == visit.host
    assert pt.ReservePurchase(occurred="2025-06", country="SV", amount=7) == purchase


def test_an_event_constructor_names_class_field_and_hint():
    with pytest.raises(ValidationError) as info:
        pt.ReservePurchase(occurred="2025-06", country="Salvador", amount=7)

    assert "ReservePurchase.country: unknown country 'Salvador': did you mean 'SV' (El Salvador)?" == str(
        info.value
    )


def test_a_partnership_of_a_name_and_its_code_is_one_country_twice():
    with pytest.raises(ValidationError, match="listed twice"):
        pt.PartnershipFormed(occurred="2025", countries=("SV", "El Salvador"))


def test_an_eu_event_is_kept_and_named():
    statement = pt.PolicyStatement(
        occurred="2024-12-30", country="European Union", text="MiCA applies in full"
    )

    assert "EU" == statement.country
    assert "European Union" == pt.country_name(statement.country)


def test_the_command_line_takes_names_and_alpha_3_codes(tmp_path):
    from tests.test_cli import run
    from tests.test_seed_history import DATASET

    log = tmp_path / "seeds.db"
    run("append", log, DATASET)

    by_name = run("replay", log, "--country", "El Salvador")
    by_alpha_3 = run("replay", log, "--country", "slv")
    timeline = run("timeline", log, "Pakistan")

    assert 0 == by_name[0] == by_alpha_3[0] == timeline[0]
    assert by_name[1] == by_alpha_3[1] == run("replay", log, "--country", "SV")[1]
    assert by_name[1].startswith("El Salvador (SV)")
    assert "Bilal Bin Saqib" in timeline[1]


def test_the_command_line_hints_at_the_country_meant(tmp_path):
    from tests.test_cli import run

    log = tmp_path / "log.db"
    pt.open_log(log).close()

    code, out, err = run("replay", log, "--country", "Salvador")

    assert (2, "") == (code, out)
    assert 1 == len(err.splitlines())
    assert "unknown country 'Salvador': did you mean 'SV' (El Salvador)?" in err
