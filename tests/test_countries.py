import pytest

from policytracker import ValidationError, country_name
from policytracker._countries import normalize_country


@pytest.mark.parametrize(("value", "expected"), [("pk", "PK"), ("SV", "SV"), ("Ru", "RU")])
def test_codes_are_normalised_to_upper_case(value, expected):
    assert expected == normalize_country(value)


@pytest.mark.parametrize("value", ["XX", "PAK", "", " pk", "EU"])
def test_unknown_codes_name_field_and_value(value):
    with pytest.raises(ValidationError) as info:
        normalize_country(value, field="host")

    assert "host" == info.value.field
    assert str(info.value).startswith("host:")
    assert repr(value) in str(info.value)


def test_a_non_string_is_refused():
    with pytest.raises(ValidationError, match="expected an ISO 3166-1 alpha-2 code"):
        normalize_country(42)


def test_country_name_reads_pycountry():
    assert "El Salvador" == country_name("sv")
