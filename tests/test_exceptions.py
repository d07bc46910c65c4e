import pytest

import policytracker as pt


@pytest.mark.parametrize(
    ("exc", "builtin"),
    [
        (pt.ValidationError, ValueError),
        (pt.SerializationError, ValueError),
        (pt.DuplicateEventError, ValueError),
        (pt.ConcurrencyError, RuntimeError),
        (pt.IntegrityError, RuntimeError),
    ],
)
def test_every_error_is_a_policytracker_error_and_its_builtin(exc, builtin):
    assert issubclass(exc, pt.PolicyTrackerError)
    assert issubclass(exc, builtin)


def test_serialization_error_carries_where():
    err = pt.SerializationError("line 3: bad", tag="reserve.purchase", line=3)

    assert ("reserve.purchase", 3, None) == (err.tag, err.line, err.position)
