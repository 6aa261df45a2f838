"""An account's policy for the decisions pjsua2 takes inside callbacks (pure)."""

from __future__ import annotations

import pjsua2 as pj

from agent.policy import decide, policy_of, redirect_op


def test_defaults_reject_refer_and_accept_the_rest_with_pjsua_codes() -> None:
    p = policy_of({})
    assert p == {"transfer": "reject", "transfer_code": 603, "subscribe": "accept",
                 "subscribe_code": 403, "replaces": "accept", "replaces_code": 603,
                 "redirect": "stop", "ring": 0.0}
    assert redirect_op(p) == pj.PJSIP_REDIRECT_STOP
    assert [decide(p, what, ok) for what, ok in (("transfer", 202), ("subscribe", 200),
                                                 ("replaces", 200))] == [603, 200, 200]


def test_rejections_use_their_code_and_merge_keeps_other_fields() -> None:
    p = policy_of({"subscribe": "reject", "replaces": "reject", "replaces_code": 486,
                   "transfer_code": None})
    assert (decide(p, "subscribe", 200), decide(p, "replaces", 200)) == (403, 486)
    assert decide(p, "transfer", 202) == 603
    assert decide(policy_of({"transfer": "accept"}), "transfer", 202) == 202
    # acc.set_policy merges the fields it is given into the current policy
    q = policy_of({**p, "subscribe": "accept"})
    assert (decide(q, "subscribe", 200), decide(q, "replaces", 200)) == (200, 486)


def test_redirect_follow_accepts_the_target_and_merges_back_to_stop() -> None:
    p = policy_of({"redirect": "follow"})
    assert redirect_op(p) == pj.PJSIP_REDIRECT_ACCEPT
    assert decide(p, "transfer", 202) == 603  # the other decisions keep their defaults
    assert redirect_op(policy_of({**p, "redirect": "stop"})) == pj.PJSIP_REDIRECT_STOP


def test_the_ring_time_of_an_auto_answering_account() -> None:
    assert policy_of({"ring": 2})["ring"] == 2.0
    assert policy_of({**policy_of({"ring": 1.5}), "transfer": "accept"})["ring"] == 1.5
