"""An account with a subscribed buddy whose home agent is killed (SIGKILL): the coordinator
makes the buddy again on the account's new home, subscribed, and its presence keeps coming."""

from __future__ import annotations

from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for
from tests.integration.test_presence import BuddyRec, Watched


def test_buddies_follow_their_account_to_its_new_home(fleet3: FaultFleet) -> None:
    lib = fleet3.lib
    watched = Watched()
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watched)
    lib.create_account("sip:carol@127.0.0.1")  # a third agent, for alice to move to
    bob.set_basic_status(True)
    rec = BuddyRec()
    buddy = alice.add_buddy(bob.contact, cb=rec, subscribe=True)
    wait_for(lambda: rec.has(online_status="online", sub_state="ACTIVE"), 10, "bob online")
    victim = alice.agent
    assert bob.agent != victim

    fleet3.kill(victim)
    wait_for(lambda: alice.agent != victim, 10, "alice's account to move")
    # the new home subscribes again: bob accepts a second watcher, alice's buddy is active
    wait_for(lambda: len(watched.subscribes) == 2, 10, "the SUBSCRIBE from alice's new home")
    assert watched.subscribes[-1][1] == 200
    bob.set_presence_status(True, pres_text="still here")
    wait_for(lambda: rec.has(online_status="online", note="still here", sub_state="ACTIVE"), 10,
             "bob's note through the new subscription")
    info = buddy.info(refresh=True)  # asked of the new home agent
    assert (info.note, info.subscribed) == ("still here", True)
    buddy.delete()
