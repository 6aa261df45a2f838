"""A registered account modified (acc.modify) and then moved by the loss of its home agent is
made on its new home with the new settings: it registers there with the new expiry."""

from __future__ import annotations

from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for
from tests.kamailio import Kamailio
from tests.ua_helpers import RegRecorder


def test_moved_account_registers_with_its_modified_settings(fleet2: FaultFleet,
                                                            kam: Kamailio) -> None:
    # Kamailio starts after the fleet's resource snapshot (its processes are not the fleet's),
    # so alice unregisters at the end, while it still runs
    lib = fleet2.lib
    rec = RegRecorder()
    alice = lib.create_account(kam.account("alice", expires=120), cb=rec)
    wait_for(lambda: rec.codes() == [200], 10, "alice's registration")
    alice.modify(kam.account("alice", expires=900))
    wait_for(lambda: len(rec.regs) == 2, 10, "the registration with the new expiry")
    assert rec.regs[1][2] is True and 120 < rec.regs[1][3] <= 900, rec.regs
    victim = alice.agent

    fleet2.kill(victim)
    wait_for(lambda: alice.agent != victim, 10, "alice's account to move")
    wait_for(lambda: any(r[0] == 200 and r[2] for r in rec.regs[2:]), 15,
             "the registration from the new home")
    expires = next(r[3] for r in rec.regs[2:] if r[0] == 200 and r[2])
    assert 120 < expires <= 900, rec.regs  # made with the modified expiry, not the first one
    n = len(rec.regs)
    alice.set_registration(False)
    wait_for(lambda: len(rec.regs) > n and rec.regs[-1][2] is False, 10, "the unregistration")
