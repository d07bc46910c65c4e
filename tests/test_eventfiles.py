"""Event files as spreadsheets write them: a byte-order mark, `;` or tab delimiters, blank rows."""

import io
from decimal import Decimal

import pytest

import policytracker as pt

PURCHASE = pt.ReservePurchase(
    occurred="2025-06", country="SV", amount=7, sources=(pt.Source(publisher="Cryptonews"),)
)
PARTNERSHIP = pt.PartnershipFormed(
    occurred="2025-07",
    countries=("PK", "SV"),
    areas=("knowledge sharing", "policy"),
    sources=(pt.Source(publisher="Bloomberg"),),
)
COMMA = (
    "type,occurred,country,amount,countries,areas,source_publisher\n"
    "reserve.purchase,2025-06,SV,7,,,Cryptonews\n"
    'partnership.formed,2025-07,,,PK;SV,"knowledge sharing;policy",Bloomberg\n'
)
SEMICOLON = (
    "type;occurred;country;amount;countries;areas;source_publisher\n"
    "reserve.purchase;2025-06;SV;7;;;Cryptonews\n"
    'partnership.formed;2025-07;;;"PK;SV";"knowledge sharing;policy";Bloomberg\n'
)
TAB = (
    "type\toccurred\tcountry\tamount\tcountries\tareas\tsource_publisher\n"
    "reserve.purchase\t2025-06\tSV\t7\t\t\tCryptonews\n"
    "partnership.formed\t2025-07\t\t\tPK;SV\tknowledge sharing;policy\tBloomberg\n"
)


def _written(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "events.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("text", [COMMA, SEMICOLON, TAB], ids=["comma", "semicolon", "tab"])
def test_the_delimiter_is_read_from_the_header(tmp_path, text):
    assert [PURCHASE, PARTNERSHIP] == pt.load_events(_written(tmp_path, text))


@pytest.mark.parametrize("text", [COMMA, SEMICOLON, TAB], ids=["comma", "semicolon", "tab"])
def test_a_byte_order_mark_is_skipped(tmp_path, text):
    assert [PURCHASE, PARTNERSHIP] == pt.load_events(_written(tmp_path, text, encoding="utf-8-sig"))


def test_a_byte_order_mark_is_skipped_in_a_stream():
    assert [PURCHASE, PARTNERSHIP] == pt.load_events(io.StringIO("\ufeff" + SEMICOLON), format="csv")


def test_a_byte_order_mark_is_skipped_in_json_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(("\ufeff" + pt.event_to_json(PURCHASE) + "\n").encode("utf-8"))

    assert [PURCHASE] == pt.load_events(path)


def test_a_windows_excel_file_reads(tmp_path):
    # Excel in a locale with a decimal comma: a BOM, semicolons, CRLF line ends, an empty row at the end.
    text = SEMICOLON.replace("\n", "\r\n") + ";;;;;;\r\n"

    assert [PURCHASE, PARTNERSHIP] == pt.load_events(_written(tmp_path, text, encoding="utf-8-sig"))


def test_spaces_around_header_names_are_ignored(tmp_path):
    text = "type ; occurred ; country ; amount\nreserve.purchase;2025-06;SV;7\n"

    assert Decimal(7) == pt.load_events(_written(tmp_path, text))[0].amount


def test_rows_of_empty_cells_are_skipped(tmp_path):
    text = "type,occurred,country,amount\n,,,\nreserve.purchase,2025-06,SV,7\n , , ,\n"

    assert 1 == len(pt.load_events(_written(tmp_path, text)))


def test_an_unquoted_list_in_a_semicolon_file_says_to_quote_it(tmp_path):
    text = "type;occurred;countries\npartnership.formed;2025-07;PK;SV\n"

    with pytest.raises(pt.SerializationError) as info:
        pt.load_events(_written(tmp_path, text))

    assert (
        "line 2: more cells than header columns; "
        'in a ;-separated file, quote a cell that lists several items ("PK;SV")'
    ) in str(info.value)


def test_a_header_without_type_and_occurred_names_the_delimiters(tmp_path):
    text = "kind|date|country\nreserve.purchase|2025-06|SV\n"

    with pytest.raises(pt.SerializationError) as info:
        pt.load_events(_written(tmp_path, text))

    assert 1 == info.value.line
    assert "line 1: the CSV header needs the columns type and occurred" in str(info.value)
    assert "commas, semicolons or tabs" in str(info.value)


def test_a_country_cell_may_hold_a_name_or_an_alpha_3_code(tmp_path):
    text = (
        "type;occurred;country;amount;countries\n"
        "reserve.purchase;2025-06;El Salvador;7;\n"
        'partnership.formed;2025-07;;;"Pakistan;SLV"\n'
    )

    purchase, partnership = pt.load_events(_written(tmp_path, text))

    assert "SV" == purchase.country
    assert ("PK", "SV") == partnership.countries


def test_a_bad_country_cell_gets_its_hint_and_line(tmp_path):
    text = "type,occurred,country,amount\nreserve.purchase,2025-06,Salvador,7\n"

    with pytest.raises(pt.SerializationError) as info:
        pt.load_events(_written(tmp_path, text))

    assert "line 2" in str(info.value)
    assert "did you mean 'SV' (El Salvador)?" in str(info.value)


def test_a_key_column_gives_each_row_its_key(tmp_path):
    text = "key,type,occurred,country,amount\nsv-2025-06,reserve.purchase,2025-06,SV,7\n"

    assert [
        pt.ReservePurchase(occurred="2025-06", country="SV", amount=7, key="sv-2025-06")
    ] == pt.load_events(_written(tmp_path, text))
