"""The MOS estimate (simplified E-model) is monotonic in each impairment and bounded."""

from __future__ import annotations

import pytest

from agent.mos import mos, r_factor


def test_a_clean_call_scores_high() -> None:
    assert mos(0, 0, 0) == pytest.approx(4.41, abs=0.02)
    assert mos(40, 2, 0) > 4.3


@pytest.mark.parametrize("worse", [(300, 0, 0), (0, 60, 0), (0, 0, 5)])
def test_each_impairment_lowers_the_score(worse: tuple[float, float, float]) -> None:
    assert mos(*worse) < mos(0, 0, 0)


def test_bounds() -> None:
    assert mos(0, 0, 100) == 1.0 and r_factor(0, 0, 100) < 0
    assert mos(-5, -1, -1) == mos(0, 0, 0)  # nonsense inputs count as none
    scores = [mos(0, 0, p) for p in range(0, 40)]
    assert scores == sorted(scores, reverse=True) and 1.0 <= min(scores) <= max(scores) <= 4.5
