"""acc.modify against a real Kamailio (registrar + proxy, digest auth): a registered account
modified to a new expiry registers anew with it; modified to a wrong password it reports the
401 once and is not retried; back to the right password it registers again. Errors: an unknown
account, a bad URI, another id URI."""

from __future__ import annotations

import pytest

from coordinator.client import AccountConfig, Error, Lib
from tests.helpers import wait_for
from tests.kamailio import Kamailio
from tests.ua_helpers import RegRecorder, holds_for


def test_modified_expiry_registers_again_with_it(kam: Kamailio, lib: Lib) -> None:
    rec = RegRecorder()
    alice = lib.create_account(kam.account("alice", expires=120), cb=rec)
    wait_for(lambda: rec.codes() == [200], 10, "alice's registration")
    assert 0 < rec.regs[0][3] <= 120
    sent = kam.requests("REGISTER", "alice")

    alice.modify(kam.account("alice", expires=600))
    wait_for(lambda: len(rec.regs) >= 2, 10, "the registration with the new expiry")
    code, _, active, expires = rec.regs[-1]
    assert (code, active) == (200, True) and 120 < expires <= 600, rec.regs
    assert kam.requests("REGISTER", "alice") > sent  # Kamailio saw the new REGISTER
    assert alice.info().reg_expires == expires


def test_modified_to_a_wrong_password_reports_401_without_retries(kam: Kamailio,
                                                                  lib: Lib) -> None:
    rec = RegRecorder()
    bob = lib.create_account(kam.account("bob", expires=120), cb=rec)
    wait_for(lambda: rec.codes() == [200], 10, "bob's registration")

    bob.modify(kam.account("bob", password="wrong", expires=120))
    wait_for(lambda: any(c in (401, 403) for c in rec.codes()[1:]), 10, "the refusal")
    n = len(rec.regs)
    sent = kam.requests("REGISTER", "bob")
    # no retry storm: during a whole observation window nothing more is sent or reported
    assert holds_for(lambda: kam.requests("REGISTER", "bob") == sent and len(rec.regs) == n, 3)
    assert not bob.info().reg_active

    bob.modify(kam.account("bob", expires=120))  # the right password again
    wait_for(lambda: rec.last() is not None and rec.last()[:3] == (200, "OK", True), 10,
             "the registration with the right password")


def test_modify_errors(kam: Kamailio, lib: Lib) -> None:
    rec = RegRecorder()
    carol = lib.create_account(kam.account("carol", expires=120), cb=rec)
    wait_for(lambda: rec.codes() == [200], 10, "carol's registration")
    with pytest.raises(Error) as exc:
        lib.request("acc.modify", {"acc": "no-such-account", "registrar": kam.uri})
    assert (exc.value.err_code, exc.value.op_name) == ("E_NOT_FOUND", "acc.modify")
    with pytest.raises(Error) as exc:
        lib.request("acc.modify", {"acc": carol.id, "registrar": "not a uri"})
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:
        lib.request("acc.modify", {"acc": carol.id, "expires": 5})
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:
        carol.modify(AccountConfig("127.0.0.1", "mallory", "pw", registrar=kam.uri))
    assert exc.value.err_code == "E_BAD_ARGS"
    # nothing was changed, nothing re-registered, and the account still works
    assert holds_for(lambda: rec.codes() == [200], 1)
    carol.set_registration(True)
    wait_for(lambda: rec.codes() == [200, 200], 10, "a refresh with the old settings")


def test_account_on_every_agent_is_modified_on_each(kam: Kamailio, lib: Lib) -> None:
    rec = RegRecorder()
    dave = lib.create_account(kam.account("dave", expires=120), cb=rec, replicas="all")
    assert len(dave.replicas) == 2
    wait_for(lambda: rec.codes() == [200, 200], 10, "a registration from each agent")
    sent = kam.requests("REGISTER", "dave")

    dave.modify(kam.account("dave", expires=600))
    wait_for(lambda: len(rec.regs) == 4, 10, "each agent's registration with the new expiry")
    assert all(r[0] == 200 and r[2] and 120 < r[3] <= 600 for r in rec.regs[2:]), rec.regs
    assert kam.requests("REGISTER", "dave") >= sent + 2
