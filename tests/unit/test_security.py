"""The pure parts of the CURVE channel: which binds are local, the bind rule, ZAP verdicts,
roles, object ownership, and key files (written by zmq.auth into a temporary directory)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import zmq.auth
from zmq.utils import z85

import proto
from coordinator.cli.keys import bind_plan
from coordinator.server.access import Access
from coordinator.server.objects import AccountRec, CallRec, MediaRec, ObjectTable
from coordinator.server.security import (
    FULL,
    READ_ONLY,
    RefusalLog,
    ServerKeys,
    check_binds,
    zap_reply,
)
from proto.curve import ClientKeys, KeyFileError, exposed, is_local, key_pair, public_keys
from proto.ops import OPS

AGENT, ALICE, READER, STRANGER = (z85.encode(bytes([n]) * 32) for n in (1, 2, 3, 4))
KEYS = ServerKeys(b"P" * 40, b"S" * 40, agents=frozenset({AGENT}), clients=frozenset({ALICE}),
                  readonly=frozenset({READER}))


@pytest.mark.parametrize(("url", "local"), [
    ("tcp://127.0.0.1:5600", True), ("tcp://127.8.9.1:*", True), ("tcp://localhost:5601", True),
    ("tcp://[::1]:5600", True), ("ipc:///tmp/x", True), ("inproc://x", True),
    ("tcp://0.0.0.0:5600", False), ("tcp://*:5600", False), ("tcp://10.0.0.1:5600", False),
    ("tcp://[::]:5600", False), ("tcp://eth0:5600", False), ("tcp://example.org:5600", False),
])
def test_local_binds(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_the_bind_rule() -> None:
    urls = ["tcp://127.0.0.1:5600", "tcp://10.0.0.1:5601", ""]
    assert exposed(urls) == ["tcp://10.0.0.1:5601"]
    refused = check_binds(urls, curve=False, insecure=False)
    assert "refusing to bind tcp://10.0.0.1:5601" in refused.error and not refused.warnings
    insecure = check_binds(urls, curve=False, insecure=True)
    assert not insecure.error and "INSECURE" in insecure.warnings[0]
    assert check_binds(urls, curve=True, insecure=False) == check_binds(urls[:1], False, False)
    assert not check_binds(urls[:1], False, False).error


def test_an_off_loopback_metrics_server_is_noted() -> None:
    args = SimpleNamespace(agents_bind="tcp://127.0.0.1:5600", clients_bind="tcp://127.0.0.1:5601",
                           events_bind="", insecure=False, metrics_port=9100,
                           metrics_host="10.0.0.1")
    plan = bind_plan(args, None)
    assert not plan.error and "plain HTTP" in plan.warnings[0]
    args.metrics_host = "127.0.0.1"
    assert bind_plan(args, None).warnings == []
    args.clients_bind = "tcp://0.0.0.0:5601"
    assert "refusing" in bind_plan(args, None).error


def _zap(domain: str, key: bytes, mechanism: bytes = b"CURVE") -> list[bytes]:
    return [b"1.0", b"7", domain.encode(), b"10.0.0.2", b"", mechanism, z85.decode(key)]


def test_zap_admits_each_socket_its_own_allow_list() -> None:
    assert zap_reply(_zap("agents", AGENT), KEYS) == [b"1.0", b"7", b"200", b"OK", AGENT, b""]
    for domain in ("clients", "events"):
        assert zap_reply(_zap(domain, ALICE), KEYS)[2:5] == [b"200", b"OK", ALICE]
        assert zap_reply(_zap(domain, READER), KEYS)[2:5] == [b"200", b"OK", READER]
        assert zap_reply(_zap(domain, AGENT), KEYS)[2] == b"400"  # an agent key is no client
    assert zap_reply(_zap("agents", ALICE), KEYS)[2] == b"400"
    assert zap_reply(_zap("agents", STRANGER), KEYS)[2:4] == [b"400", b"unknown key"]
    assert zap_reply(_zap("other", ALICE), KEYS)[2] == b"400"


def test_zap_refuses_malformed_requests_and_other_mechanisms() -> None:
    null = [b"1.0", b"8", b"clients", b"10.0.0.2", b"", b"NULL"]
    assert zap_reply(null, KEYS)[1:3] == [b"8", b"400"]
    assert zap_reply([b"1.0", b"9"], KEYS)[1:3] == [b"9", b"500"]
    assert zap_reply([], KEYS)[2] == b"500"
    assert zap_reply([b"2.0", *_zap("clients", ALICE)[1:]], KEYS)[2] == b"500"
    short_key = _zap("clients", ALICE)[:6] + [b"x" * 31]
    assert zap_reply(short_key, KEYS)[2] == b"400"
    for reply in (zap_reply(null, KEYS), zap_reply([], KEYS)):
        assert len(reply) == 6  # version, id, status, text, user id, metadata


def test_refusals_are_logged_once_then_summed_every_ten_seconds() -> None:
    log = RefusalLog(every_s=10.0, max_peers=3)
    assert log.note("clients", "10.0.0.2", 0.0) == 1
    assert [log.note("clients", "10.0.0.2", t / 10) for t in range(1, 50)] == [0] * 49
    assert log.note("agents", "10.0.0.2", 1.0) == 1  # another socket: its own report
    assert log.note("clients", "10.0.0.2", 10.5) == 50  # this one and the 49 kept quiet
    assert log.note("clients", "10.0.0.2", 11.0) == 0
    log.note("clients", "10.0.0.3", 12.0)
    assert log.note("clients", "10.0.0.4", 30.0) == 1  # full: the stale peers are forgotten
    assert len(log.peers) <= 3


def test_roles() -> None:
    assert KEYS.role(ALICE.decode()) == FULL
    assert KEYS.role(READER.decode()) == READ_ONLY
    both = ServerKeys(b"", b"", clients=frozenset({READER}), readonly=frozenset({READER}))
    assert both.role(READER.decode()) == FULL


def _co() -> Any:
    objects = ObjectTable()
    objects.add_account(AccountRec("a1", b"conn-alice", "sip:a@h", None, home="x"))
    objects.add_call(CallRec("c1", b"conn-alice", "x", "a1"))
    objects.accounts["a1"].buddies["b1"] = {"uri": "sip:bob@h", "subscribe": False}
    objects.media["x/tone-1.1"] = MediaRec("x/tone-1.1", b"conn-alice", "x")
    run = SimpleNamespace(owner=b"conn-alice", run="L1")
    return SimpleNamespace(objects=objects, loads={"L1": run})


def _req(op: str, **args: Any) -> proto.Message:
    return proto.req(op, args, "r1")


def _code(access: Access, server: Any, client: bytes, msg: proto.Message) -> str:
    try:
        access.check(server, client, msg)
    except proto.ProtoError as exc:
        return exc.code
    return "ok"


OWNED = [_req("call.hangup", call="c1"), _req("call.info", call="c1"),
         _req("acc.delete", acc="a1"), _req("call.make", acc="a1", uri="sip:b@h"),
         _req("acc.set_policy", acc="a1", transfer="reject"), _req("load.stop", run="L1"),
         _req("load.set_rate", run="L1", rate=2.0), _req("buddy.delete", buddy="b1"),
         _req("buddy.subscribe", buddy="b1", subscribe=True), _req("media.destroy", media="x/tone-1.1"),
         _req("media.conf_connect", src="x/tone-1.1", dst="c1")]


def test_without_curve_objects_belong_to_their_connection() -> None:
    server, access = _co(), Access(None)
    for msg in OWNED:
        assert _code(access, server, b"conn-alice", msg) == "ok", msg.op
        # an operator on the box (every local client is admin without keys) steers any load
        # run (callfleet rate / stop); every other object stays its connection's
        other = "ok" if msg.op.startswith("load.") else "E_FORBIDDEN"
        assert _code(access, server, b"conn-other", msg) == other, msg.op
    # reads, creations and unknown objects are not ownership questions
    for msg in (_req("load.status", run="L1"), _req("lib.status"), _req("call.hangup", call="zz"),
                _req("acc.create", uri="sip:x@h", acc="a1"), _req("load.start", rate=1.0)):
        assert _code(access, server, b"conn-other", msg) == "ok", msg.op


def test_with_curve_objects_belong_to_the_key_and_roles_apply() -> None:
    server, access = _co(), Access(KEYS)
    access.seen(server, b"conn-alice", ALICE.decode())
    access.seen(server, b"conn-alice-2", ALICE.decode())  # the same key on another connection
    access.seen(server, b"conn-bob", z85.encode(b"\x05" * 32).decode())
    access.seen(server, b"conn-reader", READER.decode())
    for msg in OWNED:
        assert _code(access, server, b"conn-alice-2", msg) == "ok", msg.op
        assert _code(access, server, b"conn-bob", msg) == "E_FORBIDDEN", msg.op
        assert _code(access, server, b"conn-reader", msg) == "E_FORBIDDEN", msg.op
    assert _code(access, server, b"conn-reader", _req("acc.create", uri="sip:x@h")) == "E_FORBIDDEN"
    reads = [name for name, spec in OPS.items() if "read-only" in spec.roles]
    assert sorted(reads) == ["client.lease", "events.subscribe", "events.unsubscribe",
                             "lib.agents", "lib.status", "load.status"]
    for op in reads:
        args = {"run": "L1"} if op == "load.status" else {}
        assert _code(access, server, b"conn-reader", _req(op, **args)) == "ok", op


def test_an_admin_may_act_on_persistent_objects_and_steer_runs() -> None:
    admin = z85.encode(b"\x07" * 32)
    server = _co()
    access = Access(ServerKeys(b"P" * 40, b"S" * 40, clients=frozenset({ALICE}),
                               admins=frozenset({admin})))
    access.seen(server, b"conn-alice", ALICE.decode())
    access.seen(server, b"conn-admin", admin.decode())
    for msg in OWNED:  # nothing is persistent: the admin is another client (but steers runs)
        want = "ok" if msg.op.startswith("load.") else "E_FORBIDDEN"
        assert _code(access, server, b"conn-admin", msg) == want, msg.op
    for rec in (server.objects.accounts["a1"], server.objects.calls["c1"],
                server.objects.media["x/tone-1.1"]):
        rec.persistent = True
    for msg in OWNED:
        assert _code(access, server, b"conn-admin", msg) == "ok", msg.op
    assert _code(access, server, b"conn-admin", _req("client.adopt")) == "ok"
    assert _code(access, server, b"conn-alice", _req("client.adopt")) == "E_FORBIDDEN"


def test_forgotten_connections_are_those_that_own_nothing() -> None:
    server, access = _co(), Access(KEYS)
    access.seen(server, b"conn-alice", ALICE.decode())
    for n in range(2000):
        access.seen(server, f"passer-{n}".encode(), READER.decode())
    assert len(access.users) <= 1025 and access.users[b"conn-alice"] == ALICE.decode()
    assert _code(access, server, b"conn-alice", OWNED[0]) == "ok"


def test_key_files(tmp_path: Path) -> None:
    public, secret = zmq.auth.create_certificates(tmp_path, "alice")
    assert key_pair(secret)[0] == key_pair(public.replace(".key", ".key_secret"))[0]
    with pytest.raises(KeyFileError, match="no secret key"):
        key_pair(public)
    with pytest.raises(KeyFileError, match="cannot read"):
        key_pair(tmp_path / "missing.key_secret")
    assert public_keys(tmp_path) == {key_pair(secret)[0]}  # .key files only, not the secrets
    with pytest.raises(KeyFileError, match="not a directory"):
        public_keys(tmp_path / "nowhere")
    assert ClientKeys.load("", "") is None
    with pytest.raises(KeyFileError, match="both"):
        ClientKeys.load(public, "")
    keys = ClientKeys.load(public, secret)
    assert keys is not None and keys.server == keys.public == key_pair(secret)[0]
