"""proto.hist: the wire form round-trips and merges; from_wire refuses any malformed bucket."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proto.hist import Histogram

VALUES = st.lists(st.integers(0, 10**9), max_size=60)


@given(VALUES, VALUES)
def test_the_wire_form_round_trips_and_merges_as_the_values_would(a: list[int],
                                                                   b: list[int]) -> None:
    left, right, both = Histogram(), Histogram(), Histogram()
    for v in a:
        left.record(v)
        both.record(v)
    for v in b:
        right.record(v)
        both.record(v)
    back = Histogram.from_wire(left.to_wire())
    assert (back.counts, back.total, back.max_us) == (left.counts, left.total, left.max_us)
    back.merge(Histogram.from_wire(right.to_wire()))
    assert (back.counts, back.total, back.max_us) == (both.counts, both.total, both.max_us)


SCALARS = st.one_of(st.integers(-3, 10**6), st.booleans(), st.floats(0, 10), st.text(max_size=2),
                    st.none())


@given(st.lists(st.one_of(st.lists(SCALARS, max_size=3), SCALARS), max_size=6))
def test_a_bucket_is_two_non_negative_ints_or_the_histogram_is_refused(pairs: list[Any]) -> None:
    """Exactly [index, count] with both exact non-negative ints (a bool is no int here)."""
    good = all(isinstance(p, list) and len(p) == 2
               and all(type(x) is int and x >= 0 for x in p) for p in pairs)
    if good:
        h = Histogram.from_wire({"b": pairs, "max": 5})
        assert h.total == sum(n for _, n in pairs) and h.max_us == 5
    else:
        with pytest.raises(ValueError):
            Histogram.from_wire({"b": pairs})


@pytest.mark.parametrize("raw", [None, [], {"b": {}}, {"max": 1}, {"b": [[True, 1]]},
                                 {"b": [[1, -1]]}, {"b": [[1, 2, 3]]}, {"b": [(1, 2)]}])
def test_malformed_forms_are_refused(raw: Any) -> None:
    with pytest.raises(ValueError):
        Histogram.from_wire(raw)
