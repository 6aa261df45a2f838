"""`callfleet agent` options for SIP transports, and the socket budget they imply (pure)."""

from __future__ import annotations

import pytest

from agent.options import budget_for, parse
from coordinator.server.objects import AccountRec, ObjectTable
from proto import ProtoError


def test_transports_udp_first_each_once() -> None:
    assert parse([]).transports == ("udp",)
    assert parse(["--transports", "tcp"]).transports == ("udp", "tcp")
    args = parse(["--transports", "TLS, tcp,udp,tcp", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                  "--tls-port", "5061"])
    assert (args.transports, args.tls_port) == (("udp", "tcp", "tls"), 5061)


@pytest.mark.parametrize("argv", [["--transports", "sctp"], ["--transports", "tls"],
                                  ["--transports", "tls", "--tls-cert", "c.pem"],
                                  ["--tls-port", "70000"]])
def test_bad_transport_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2


def test_stream_transports_cost_sockets() -> None:
    udp, all3 = budget_for(("udp",)), budget_for(("udp", "tcp", "tls"))
    assert (udp.total, udp.per_call) == (48, 2)
    assert (all3.total, all3.per_call) == (46, 3)


def test_coordinator_buddy_ids_never_collide() -> None:
    table = ObjectTable()
    table.add_account(AccountRec("a1", b"c", "sip:a@h", None, home="x",
                                 buddies={"b1": {"uri": "sip:b@h", "subscribe": False}}))
    assert table.new_buddy_id() == "b2"
    assert table.buddy("b1", "buddy.info") is table.accounts["a1"]
    with pytest.raises(ProtoError) as exc:
        table.buddy("b9", "buddy.info")
    assert (exc.value.code, exc.value.obj) == ("E_NOT_FOUND", "b9")
