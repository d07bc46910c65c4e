"""The same fact has the same id whatever order its sources (and its areas or topics) were given in."""

import attrs
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker._canonical import canonical_json, uuid5
from policytracker.testing import sources

A, B, C = (pt.Source(publisher=name) for name in ("AP", "Bloomberg", "Reuters"))


def _purchase(*cited):
    return pt.ReservePurchase(occurred="2025-07", country="SV", amount=7, sources=cited)


@given(st.lists(sources(), min_size=2, max_size=4), st.randoms())
def test_the_order_of_the_sources_changes_neither_the_event_nor_its_id(cited, random):
    shuffled = list(cited)
    random.shuffle(shuffled)

    assert _purchase(*cited) == _purchase(*shuffled)
    assert _purchase(*cited).event_id == _purchase(*shuffled).event_id


def test_a_source_given_twice_counts_once():
    assert (A, B) == _purchase(B, A, B).sources


def test_areas_and_topics_are_sets_too():
    one = pt.PartnershipFormed(occurred="2025", countries=("PK", "SV"), areas=("mining", "energy", "mining"))
    other = pt.PartnershipFormed(occurred="2025", countries=("SV", "PK"), areas=("energy", "mining"))
    statement = pt.PolicyStatement(occurred="2024", country="RU", text="x", topics=("sanctions", "payments"))

    assert one == other
    assert one.event_id == other.event_id
    assert ("payments", "sanctions") == statement.topics


def test_importing_a_re_sorted_file_adds_nothing(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        log.append([_purchase(A, B, C)])
        again = log.append([_purchase(C, A, B)])

        assert 1 == log.head
        assert (_purchase(A, B, C).event_id,) == again.unchanged


def test_an_event_stored_with_its_sources_in_another_order_keeps_its_stored_id(tmp_path):
    content = {
        "amount": "7",
        "country": "SV",
        "occurred": "2025-07",
        "sources": [{"publisher": "Reuters"}, {"publisher": "AP"}],
        "type": "reserve.purchase",
    }
    stored_id = uuid5(canonical_json(content))  # derived by the rule of earlier versions
    stored = {**content, "version": 1, "event_id": str(stored_id)}

    event = pt.event_from_dict(stored)

    assert stored_id == event.event_id
    assert (A, C) == event.sources
    assert stored_id == attrs.evolve(event, note="").event_id  # kept: it is not what the content derives
