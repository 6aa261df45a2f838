"""Instant messages and typing indications: between accounts on two agents (both ways), inside a
call (both ways), and through Kamailio, where an unknown AOR gets its 404 delivery report."""

from __future__ import annotations

import pytest

from coordinator.client import BuddyCallback, Error, Lib
from proto import limits
from tests.helpers import Answerer, Recorder, wait_for
from tests.kamailio import Kamailio
from tests.ua_helpers import ImAccount, ImAnswerer, ImCall, ImLog, connected_pair, hang_up


def test_pager_and_typing_between_agents(lib: Lib) -> None:
    a_cb, b_cb = ImAccount(), ImAccount()
    alice = lib.create_account("sip:alice@127.0.0.1", cb=a_cb)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=b_cb)
    assert alice.agent != bob.agent

    alice.send_pager(bob.contact, "hello bob", im_id=7)
    wait_for(lambda: bool(b_cb.pagers and a_cb.statuses), 10, "bob's message and its report")
    from_uri, contact, mime, body = b_cb.pagers[0]
    assert "sip:alice@127.0.0.1" in from_uri and mime == "text/plain" and body == "hello bob"
    assert contact == ""  # PJSIP puts no Contact in a MESSAGE
    assert a_cb.statuses == [(a_cb.statuses[0][0], "hello bob", 7, 200, "OK")]
    assert "bob@" in a_cb.statuses[0][0]

    bob.send_pager(alice.contact, "h\u00e9llo alice \u2713", im_id=8,
                   content_type="text/x-callfleet", hdr_list=[("X-Callfleet-Test", "im")])
    wait_for(lambda: bool(a_cb.pagers and b_cb.statuses), 10, "alice's message and its report")
    assert a_cb.pagers[0][2:] == ("text/x-callfleet", "h\u00e9llo alice \u2713")
    assert b_cb.statuses[0][1:] == ("h\u00e9llo alice \u2713", 8, 200, "OK")

    # two messages with the same body: each report carries its own im_id
    alice.send_pager(bob.contact, "same", im_id=1)
    alice.send_pager(bob.contact, "same", im_id=2)
    wait_for(lambda: len(a_cb.statuses) == 3, 10, "both reports")
    assert sorted(s[2] for s in a_cb.statuses[1:]) == [1, 2]
    assert len(b_cb.pagers) == 3

    alice.send_typing_ind(bob.contact, True)
    wait_for(lambda: len(b_cb.typing) == 1, 10, "bob to see alice typing")
    alice.send_typing_ind(bob.contact, False)
    bob.send_typing_ind(alice.contact)
    wait_for(lambda: len(b_cb.typing) == 2 and len(a_cb.typing) == 1, 10, "typing both ways")
    assert [t[2] for t in b_cb.typing] == [True, False] and a_cb.typing[0][2] is True
    assert "sip:alice@127.0.0.1" in b_cb.typing[0][0] and "sip:bob@127.0.0.1" in a_cb.typing[0][0]
    # typing indications are not messages and have no reports
    assert len(b_cb.pagers) == 3 and len(a_cb.pagers) == 1 and len(a_cb.statuses) == 3

    with pytest.raises(Error) as exc:
        alice.send_pager("not a uri", "x")
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:
        alice.send_pager(bob.contact, "x" * 5000)
    assert exc.value.err_code == "E_BAD_ARGS"


def test_pager_and_typing_inside_a_call(lib: Lib) -> None:
    out = ImCall()
    call, _, incoming, inn = connected_pair(lib, out, ImAnswerer())
    assert isinstance(inn, ImCall)
    call.send_pager("in the call", im_id=3)
    wait_for(lambda: bool(inn.pagers and out.statuses), 10, "the message and its report")
    assert inn.pagers == [("text/plain", "in the call")]
    assert out.statuses == [("in the call", 3, 200, "OK")]
    incoming.send_pager("and back", im_id=4)
    wait_for(lambda: bool(out.pagers and inn.statuses), 10, "the reply and its report")
    assert out.pagers == [("text/plain", "and back")]
    assert inn.statuses == [("and back", 4, 200, "OK")]

    call.send_typing_ind(True)
    incoming.send_typing_ind(True)
    call.send_typing_ind(False)
    wait_for(lambda: len(inn.typing) == 2 and len(out.typing) == 1, 10, "typing both ways")
    assert inn.typing == [True, False] and out.typing == [True]
    assert out.names()[-1] == inn.names()[-1] == "CONFIRMED"
    hang_up(call, out, inn)
    with pytest.raises(Error) as exc:
        call.send_pager("too late")
    assert exc.value.err_code == "E_NOT_FOUND"


def test_pager_needs_an_answered_call(lib: Lib) -> None:
    answerer = Answerer(codes=(180,))  # rings, never answers
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("EARLY"), 10, "the call to ring")
    with pytest.raises(Error) as exc:
        call.send_pager("early")
    assert exc.value.err_code == "E_WRONG_STATE"
    with pytest.raises(Error) as exc:
        call.send_typing_ind()
    assert exc.value.err_code == "E_WRONG_STATE"
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")


def test_pager_through_kamailio_reports_delivery_codes(kam: Kamailio, lib: Lib) -> None:
    a_cb, b_cb = ImAccount(), ImAccount()
    alice = lib.create_account(kam.account("alice"), cb=a_cb)
    bob = lib.create_account(kam.account("bob"), cb=b_cb)
    wait_for(lambda: a_cb.codes() == [200] and b_cb.codes() == [200], 10, "both registrations")

    alice.send_pager("sip:bob@127.0.0.1", "via the proxy", im_id=11)  # bob's AOR
    alice.send_pager("sip:nobody@127.0.0.1", "lost", im_id=12)
    wait_for(lambda: len(a_cb.statuses) == 2 and bool(b_cb.pagers), 10, "both reports")
    by_id = {s[2]: s for s in a_cb.statuses}
    assert by_id[11][1:4] == ("via the proxy", 11, 200)
    assert by_id[12][1:4] == ("lost", 12, 404)
    assert b_cb.pagers[0][3] == "via the proxy" and "sip:alice@127.0.0.1" in b_cb.pagers[0][0]
    bob.send_typing_ind("sip:alice@127.0.0.1")
    wait_for(lambda: len(a_cb.typing) == 1, 10, "alice to see bob typing")
    assert kam.requests("MESSAGE", "alice") == 2 and kam.requests("MESSAGE", "bob") == 1
    assert bob.info().reg_active


def test_the_longest_message_is_delivered_and_a_longer_one_refused_before_sending(
        lib: Lib) -> None:
    """MAX_PAGER characters fit in PJSIP's 4000-byte SIP message; text that does not fit (here
    non-ASCII: 2 bytes a character) is refused with E_BAD_ARGS, not PJSIP's error, and nothing
    reaches the peer; one character more than MAX_PAGER is refused by the schema."""
    a_cb, b_cb = ImAccount(), ImAccount()
    alice = lib.create_account("sip:alice@127.0.0.1", cb=a_cb)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=b_cb)
    longest = "x" * limits.MAX_PAGER
    alice.send_pager(bob.contact, longest, im_id=1)
    wait_for(lambda: bool(b_cb.pagers and a_cb.statuses), 10, "the longest message")
    assert b_cb.pagers[0][3] == longest and a_cb.statuses[0][2:4] == (1, 200)
    with pytest.raises(Error) as wide:
        alice.send_pager(bob.contact, "\u00e9" * limits.MAX_PAGER, im_id=2)
    assert wide.value.err_code == "E_BAD_ARGS" and "4000 bytes" in wide.value.err_msg
    with pytest.raises(Error) as over:
        alice.send_pager(bob.contact, "x" * (limits.MAX_PAGER + 1), im_id=3)
    assert over.value.err_code == "E_BAD_ARGS"
    # the refused ones never left: a later message is the second one bob gets
    alice.send_pager(bob.contact, "after", im_id=4)
    # bob gets it before alice's agent has bob's 200 for it: wait for both
    wait_for(lambda: len(b_cb.pagers) == 2 and len(a_cb.statuses) == 2, 10, "the message after")
    assert b_cb.pagers[1][3] == "after" and [s[2] for s in a_cb.statuses] == [1, 4]


class _ImBuddy(ImLog, BuddyCallback):
    """What a buddy's callback hears of its instant messages."""


def test_buddies_exchange_messages_and_typing_as_in_pjsua(lib: Lib) -> None:
    """What an account receives from a buddy's address, and the delivery of what it sent to the
    buddy, go to the buddy's callback, not the account's."""
    a_cb, b_cb = ImAccount(), ImAccount()
    alice = lib.create_account("sip:alice@127.0.0.1", cb=a_cb)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=b_cb)
    carol = lib.create_account("sip:carol@127.0.0.1")
    bob_at_alice, alice_at_bob = _ImBuddy(), _ImBuddy()
    a_buddy = alice.add_buddy(bob.contact, cb=bob_at_alice)
    b_buddy = bob.add_buddy(alice.contact, cb=alice_at_bob)

    a_buddy.send_pager("hi bob", im_id=3)
    wait_for(lambda: bool(alice_at_bob.pagers and bob_at_alice.statuses), 10,
             "the message at bob's buddy and its report at alice's")
    assert alice_at_bob.pagers == [("text/plain", "hi bob")]
    assert bob_at_alice.statuses == [("hi bob", 3, 200, "OK")]
    b_buddy.send_typing_ind(True)
    b_buddy.send_pager("hi alice", content_type="text/x-callfleet")
    wait_for(lambda: bool(bob_at_alice.typing and bob_at_alice.pagers), 10, "bob typing, then")
    assert bob_at_alice.typing == [True]
    assert bob_at_alice.pagers == [("text/x-callfleet", "hi alice")]
    # none of it reached the accounts' own callbacks
    assert a_cb.pagers == a_cb.statuses == a_cb.typing == []
    assert b_cb.pagers == b_cb.typing == []

    # someone who is not a buddy still reaches the account
    carol.send_pager(alice.contact, "from carol")
    wait_for(lambda: bool(a_cb.pagers), 10, "carol's message at alice's account")
    assert a_cb.pagers[0][3] == "from carol" and len(bob_at_alice.pagers) == 1
