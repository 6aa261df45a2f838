"""The user-agent ops (hold, re-INVITE, UPDATE, DTMF, instant messages, typing, transfer policy,
transfer, statistics, registration errors, media objects, codecs, SIP transports, presence,
redirect policy, account modify) driven
with raw pyzmq + msgpack, following only proto/PROTOCOL.md: every op once, its events, and its
errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from tests import audio
from tests.helpers import stop, wait_for
from tests.interop.conftest import Fleet, run_fleet
from tests.interop.test_raw_zmq import Event, Peer, about
from tests.kamailio import PASSWORD, Kamailio
from tests.ua_helpers import start_redirector


@pytest.fixture
def zctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


def media(events: list[Event], obj: str) -> list[str]:
    return [e["data"]["media"] for e in about(events, obj, "call.media_state")]


def test_every_user_agent_op_over_raw_msgpack(fleet: Fleet,
                                              zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, fleet.clients_url, "ua")
    alice = d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200})
    carol = d.ok("acc.create", {"uri": "sip:carol@127.0.0.1", "acc": "carol",
                                "transfer": "reject", "transfer_code": 486})
    assert carol["agent"] and set(carol) == {"acc", "agent", "contact"}
    assert d.ok("acc.set_policy", {"acc": "alice", "transfer": "reject",
                                   "transfer_code": 486}) == {}
    err = d.error("acc.set_registration", {"acc": "alice", "renew": True})
    assert (err["code"], err["obj"], err["op"]) == ("E_WRONG_STATE", "alice", "acc.set_registration")

    d.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "c1"})
    d.wait(lambda ev: bool(about(ev, "bob", "acc.incoming_call")), "bob's incoming call")
    leg = about(d.events, "bob", "acc.incoming_call")[0]["data"]["call"]
    d.wait(lambda ev: media(ev, "c1") == ["ACTIVE"] and media(ev, leg) == ["ACTIVE"], "media")

    d.ok("call.hold", {"call": "c1"})
    d.wait(lambda ev: media(ev, "c1")[-1] == "LOCAL_HOLD" and media(ev, leg)[-1] == "REMOTE_HOLD",
           "the hold")
    d.ok("call.unhold", {"call": "c1", "headers": {"X-Raw": "1"}})
    d.wait(lambda ev: len(media(ev, "c1")) == 3 and len(media(ev, leg)) == 3, "the unhold")
    d.ok("call.reinvite", {"call": leg})
    d.wait(lambda ev: len(media(ev, "c1")) == 4 and len(media(ev, leg)) == 4, "the re-INVITE")
    d.ok("call.update", {"call": "c1"})
    d.wait(lambda ev: len(media(ev, "c1")) == 5 and len(media(ev, leg)) == 5, "the UPDATE")
    assert media(d.events, "c1")[-1] == media(d.events, leg)[-1] == "ACTIVE"

    d.ok("call.dial_dtmf", {"call": "c1", "digits": "12", "method": "info"})
    d.ok("call.dial_dtmf", {"call": "c1", "digits": "3"})
    d.wait(lambda ev: len(about(ev, leg, "call.dtmf")) == 3, "3 digits")
    got = [(e["data"]["digit"], e["data"]["method"]) for e in about(d.events, leg, "call.dtmf")]
    assert got == [("1", "info"), ("2", "info"), ("3", "rfc2833")]
    assert d.error("call.dial_dtmf", {"call": "c1", "digits": "1x"})["code"] == "E_BAD_ARGS"

    d.ok("call.send_pager", {"call": "c1", "text": "in call", "im_id": 5})
    d.ok("call.send_typing_ind", {"call": leg, "is_typing": True})
    d.wait(lambda ev: bool(about(ev, leg, "call.pager") and about(ev, "c1", "call.pager_status")
                           and about(ev, "c1", "call.typing")), "in-call message and typing")
    assert about(d.events, leg, "call.pager")[0]["data"]["body"] == "in call"
    status = about(d.events, "c1", "call.pager_status")[0]["data"]
    assert (status["im_id"], status["code"]) == (5, 200)
    assert about(d.events, "c1", "call.typing")[0]["data"] == {"is_typing": True}

    d.ok("acc.send_pager", {"acc": "alice", "uri": bob["contact"], "text": "hi bob", "im_id": 9,
                            "content_type": "text/plain"})
    d.ok("acc.send_typing_ind", {"acc": "bob", "uri": alice["contact"]})
    d.wait(lambda ev: bool(about(ev, "bob", "acc.pager") and about(ev, "alice", "acc.pager_status")
                           and about(ev, "alice", "acc.typing")), "the message, report, typing")
    assert about(d.events, "alice", "acc.typing")[0]["data"]["is_typing"] is True
    assert about(d.events, "bob", "acc.pager")[0]["data"]["body"] == "hi bob"
    assert about(d.events, "alice", "acc.pager_status")[0]["data"]["im_id"] == 9

    stats = d.ok("call.stats", {"call": "c1"})
    assert stats["codec"] and stats["mos"] >= 1 and stats["tx_packets"] > 0
    assert d.ok("call.info", {"call": "c1"})["codec"] == stats["codec"]

    d.ok("call.transfer", {"call": leg, "uri": "sip:carol@127.0.0.1"})
    d.wait(lambda ev: bool(about(ev, "c1", "call.transfer_request")
                           and about(ev, leg, "call.transfer_status")), "the refused REFER")
    req = about(d.events, "c1", "call.transfer_request")[0]["data"]
    assert (req["code"], req["new_call"]) == (486, "")
    assert about(d.events, leg, "call.transfer_status")[-1]["data"]["final"] is True

    for op, args in (("call.hold", {"call": "nope"}), ("call.stats", {"call": "nope"}),
                     ("acc.send_pager", {"acc": "nope", "uri": "sip:a@b", "text": "x"}),
                     ("acc.set_policy", {"acc": "nope"})):
        assert d.error(op, args)["code"] == "E_NOT_FOUND", op
    d.ok("call.hangup", {"call": "c1"})
    d.wait(lambda ev: bool(about(ev, leg, "call.state"))
           and about(ev, leg, "call.state")[-1]["data"]["state"] == "DISCONNECTED", "the end")


def test_media_ops_over_raw_msgpack(fleet: Fleet, zctx: zmq.Context[zmq.Socket[bytes]],
                                    tmp_path: Path) -> None:
    """Tone, player, recorder and the bridge from raw msgpack: the recorded call carries the
    tone; the player's end comes as media.player_eof; misuse gets its error code."""
    wav = tmp_path / "beep.wav"
    audio.write_tone(wav, 700, 0.3, rate=8000)
    d = Peer(zctx, fleet.clients_url, "media")
    d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200})
    made = d.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "m1"})
    d.wait(lambda ev: bool(about(ev, "bob", "acc.incoming_call")), "bob's incoming call")
    leg = about(d.events, "bob", "acc.incoming_call")[0]["data"]["call"]
    d.wait(lambda ev: media(ev, "m1") == ["ACTIVE"] and media(ev, leg) == ["ACTIVE"], "media")

    tone = d.ok("media.create_tone", {"call": "m1", "freq1": 1000})
    assert set(tone) == {"media", "agent", "slot"} and tone["agent"] == made["agent"]
    conn = d.ok("media.conf_connect", {"src": tone["media"], "dst": "m1"})
    assert conn["agent"] == made["agent"] and conn["src_slot"] == tone["slot"]
    path = tmp_path / "heard.wav"
    rec = d.ok("media.create_recorder", {"call": leg, "filename": str(path)})
    assert rec["agent"] == bob["agent"] != made["agent"]
    err = d.error("media.conf_connect", {"src": tone["media"], "dst": rec["media"]})
    assert (err["code"], err["op"]) == ("E_CROSS_AGENT", "media.conf_connect")
    d.ok("media.conf_connect", {"src": leg, "dst": rec["media"]})
    wait_for(lambda: path.exists() and path.stat().st_size > 32000, 20, "a second recorded")
    assert d.ok("media.destroy", {"media": rec["media"]}) == {}
    wait_for(lambda: audio.complete(path), 10, "the recording to be closed")
    samples, rate = audio.read(path)
    assert audio.dominant(samples[rate // 5:], rate) == pytest.approx(1000, rel=0.05)

    player = d.ok("media.create_player", {"agent": made["agent"], "filename": str(wav)})
    d.ok("media.conf_connect", {"src": player["media"], "dst": "m1"})
    d.wait(lambda ev: bool(about(ev, player["media"], "media.player_eof")), "the player's end")
    eof = about(d.events, player["media"], "media.player_eof")[0]["data"]
    assert eof == {"agent": made["agent"], "loop": False}
    assert d.ok("media.player_set_pos", {"media": player["media"], "pos": 0}) == {}
    assert d.ok("media.conf_disconnect", {"src": player["media"], "dst": "m1"})["dst_slot"] == \
        conn["dst_slot"]
    for gid in (player["media"], tone["media"]):
        d.ok("media.destroy", {"media": gid})
    for op, args, code in (
            ("media.destroy", {"media": tone["media"]}, "E_NOT_FOUND"),
            ("media.player_set_pos", {"media": "nope", "pos": 1}, "E_NOT_FOUND"),
            ("media.create_tone", {"freq1": 1000}, "E_BAD_ARGS"),
            ("media.create_player", {"agent": made["agent"], "filename": "x.wav"}, "E_BAD_ARGS"),
            ("media.conf_connect", {"src": "m1", "dst": 5}, "E_BAD_ARGS")):
        assert d.error(op, args)["code"] == code, op
    d.ok("call.hangup", {"call": "m1"})
    d.wait(lambda ev: bool(about(ev, leg, "call.state"))
           and about(ev, leg, "call.state")[-1]["data"]["state"] == "DISCONNECTED", "the end")


def test_codec_and_sound_device_ops_over_raw_msgpack(
        fleet: Fleet, zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, fleet.clients_url, "codecs")
    listed = d.ok("lib.enum_codecs", {})
    ids = [c["id"] for c in listed["codecs"]]
    assert "PCMA/8000/1" in ids and set(listed["codecs"][0]) == {
        "id", "name", "priority", "clock_rate", "channels"}
    one = d.ok("lib.set_codec_priority", {"codec": "pcma", "priority": 7,
                                          "agent": listed["agent"]})
    assert one == {"agents": [listed["agent"]], "codecs": ["PCMA/8000/1"]}
    prio = {c["id"]: c["priority"] for c in d.ok("lib.enum_codecs",
                                                 {"agent": listed["agent"]})["codecs"]}
    assert prio["PCMA/8000/1"] == 7
    every = d.ok("lib.set_codec_priority", {"codec": "speex/8000", "priority": 0})
    assert len(every["agents"]) == 2 and every["codecs"] == ["speex/8000/1"]
    dev = d.ok("lib.enum_snd_dev", {"agent": listed["agent"]})
    assert dev == {"agent": listed["agent"], "devices": [], "audio": "null"}
    for op, args, code in (
            ("lib.set_codec_priority", {"codec": "nope", "priority": 1}, "E_NOT_FOUND"),
            ("lib.set_codec_priority", {"codec": "PCMU", "priority": 999}, "E_BAD_ARGS"),
            ("lib.set_codec_priority", {"codec": "", "priority": 1}, "E_BAD_ARGS"),
            ("lib.enum_codecs", {"agent": "nope"}, "E_NOT_FOUND"),
            ("lib.enum_snd_dev", {"agent": 3}, "E_BAD_ARGS")):
        assert d.error(op, args)["code"] == code, op
@pytest.fixture
def tcp_fleet() -> Iterator[Fleet]:
    """A coordinator and 2 agents that listen on UDP and TCP."""
    yield from run_fleet(["--transports", "udp,tcp"])


def test_transports_over_raw_msgpack(tcp_fleet: Fleet,
                                     zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, tcp_fleet.clients_url, "tp")
    ts = d.ok("lib.transports", {})["transports"]
    assert sorted(t["type"] for t in ts) == ["tcp", "tcp", "udp", "udp"]
    tcp = sorted((t for t in ts if t["type"] == "tcp"), key=lambda t: t["agent"])
    assert all(set(t) == {"agent", "type", "host", "port"} and t["port"] > 0 for t in tcp)
    a = d.ok("acc.create", {"uri": f"sip:alice@127.0.0.1:{tcp[0]['port']};transport=tcp",
                            "acc": "alice", "agent": tcp[0]["agent"], "transport": "tcp"})
    b = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200,
                            "agent": tcp[1]["agent"], "transport": "tcp"})
    assert a["agent"] == tcp[0]["agent"] and b["agent"] == tcp[1]["agent"]
    assert b["contact"] == f"sip:bob@127.0.0.1:{tcp[1]['port']};transport=tcp"
    d.ok("call.make", {"acc": "alice", "uri": b["contact"], "call": "t1"})
    d.wait(lambda ev: any(e["data"]["state"] == "CONFIRMED" for e in about(ev, "t1", "call.state")),
           "the TCP call CONFIRMED")
    info = d.ok("call.info", {"call": "t1"})
    assert ";transport=tcp" in info["local_contact"].lower()
    assert f":{tcp[1]['port']};transport=tcp" in info["remote_contact"].lower()
    err = d.error("acc.create", {"uri": "sip:carol@127.0.0.1", "transport": "tls"})
    assert (err["code"], err["op"]) == ("E_NOT_FOUND", "acc.create") and "TLS" in err["msg"]
    err = d.error("acc.create", {"uri": "sip:carol@127.0.0.1", "agent": "nobody"})
    assert (err["code"], err["obj"]) == ("E_NOT_FOUND", "nobody")
    d.ok("call.hangup", {"call": "t1"})
    d.wait(lambda ev: about(ev, "t1", "call.state")[-1]["data"]["state"] == "DISCONNECTED",
           "the end")


def test_presence_over_raw_msgpack(fleet: Fleet, zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, fleet.clients_url, "pres")
    d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob"})
    assert d.ok("acc.set_presence", {"acc": "bob", "online": True, "activity": "away",
                                     "note": "back soon"}) == {}
    got = d.ok("acc.add_buddy", {"acc": "alice", "uri": bob["contact"], "subscribe": True})
    bid = got["buddy"]
    assert bid  # issued by the coordinator

    def states(ev: list[Event]) -> list[dict[str, object]]:
        return [e["data"] for e in about(ev, "alice", "acc.buddy_state")]

    d.wait(lambda ev: any(s["status"] == "online" and s["note"] == "back soon"
                          and s["activity"] == "away" for s in states(ev)), "bob online")
    assert all(s["buddy"] == bid for s in states(d.events))
    assert about(d.events, "bob", "acc.incoming_subscribe")[0]["data"]["code"] == 200
    info = d.ok("buddy.info", {"buddy": bid})
    assert (info["status"], info["sub_state"], info["monitoring"]) == ("online", "ACTIVE", True)
    d.ok("buddy.subscribe", {"buddy": bid, "subscribe": False})
    d.wait(lambda ev: states(ev)[-1]["sub_state"] == "TERMINATED", "the unsubscription")
    d.ok("buddy.delete", {"buddy": bid})
    err = d.error("buddy.info", {"buddy": bid})
    assert (err["code"], err["obj"], err["op"]) == ("E_NOT_FOUND", bid, "buddy.info")
    assert d.error("buddy.subscribe", {"buddy": bid})["code"] == "E_BAD_ARGS"  # no subscribe


def test_attended_transfer_over_raw_msgpack(fleet: Fleet,
                                            zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, fleet.clients_url, "xfer")
    d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200,
                              "transfer": "accept"})
    carol = d.ok("acc.create", {"uri": "sip:carol@127.0.0.1", "acc": "carol",
                                "auto_answer": 200})

    def state(ev: list[Event], obj: str) -> str:
        states = about(ev, obj, "call.state")
        return str(states[-1]["data"]["state"]) if states else ""

    d.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "ab"})
    d.ok("call.make", {"acc": "alice", "uri": carol["contact"], "call": "ac"})
    # the callees' agents report their incoming calls on their own connections: the callers'
    # CONFIRMED may come first
    d.wait(lambda ev: state(ev, "ab") == state(ev, "ac") == "CONFIRMED"
           and bool(about(ev, "bob", "acc.incoming_call"))
           and bool(about(ev, "carol", "acc.incoming_call")), "both legs")
    c_leg = about(d.events, "carol", "acc.incoming_call")[0]["data"]["call"]
    b_leg = about(d.events, "bob", "acc.incoming_call")[0]["data"]["call"]
    assert d.error("call.transfer_replaces", {"call": "ab", "dest_call": "ab"})["code"] == (
        "E_BAD_ARGS")
    assert d.ok("call.transfer_replaces", {"call": "ab", "dest_call": "ac"}) == {}
    d.wait(lambda ev: bool(about(ev, c_leg, "call.replace_request")
                           and about(ev, b_leg, "call.transfer_request")), "the replacement")
    rep = about(d.events, c_leg, "call.replace_request")[0]["data"]
    req = about(d.events, b_leg, "call.transfer_request")[0]["data"]
    assert rep["code"] == 200 and rep["new_call"] and "bob@127.0.0.1" in rep["from_uri"]
    assert req["code"] == 202 and req["new_call"]
    d.wait(lambda ev: state(ev, req["new_call"]) == state(ev, rep["new_call"]) == "CONFIRMED"
           and state(ev, "ac") == state(ev, c_leg) == "DISCONNECTED"
           and any(e["data"]["final"] for e in about(ev, "ab", "call.transfer_status")),
           "bob-carol up, alice-carol ended, the final report")
    assert about(d.events, "ab", "call.transfer_status")[-1]["data"]["code"] == 200
    d.ok("call.hangup", {"call": "ab"})
    d.ok("call.hangup", {"call": req["new_call"]})
    d.wait(lambda ev: all(state(ev, c) == "DISCONNECTED"
                          for c in ("ab", b_leg, req["new_call"], rep["new_call"])), "the end")


def test_account_on_every_agent_over_raw_msgpack(fleet: Fleet,
                                                 zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    d = Peer(zctx, fleet.clients_url, "all")
    names = sorted(a["name"] for a in d.ok("lib.agents", {})["agents"])
    every = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "replicas": "all"})
    assert every["replicas"] == names and every["agent"] in names
    carol = d.ok("acc.create", {"uri": "sip:carol@127.0.0.1", "acc": "carol", "auto_answer": 200})
    made = [d.ok("call.make", {"acc": "bob", "uri": carol["contact"], "call": f"r{i}"})
            for i in range(2)]
    assert sorted(m["agent"] for m in made) == names  # round robin
    for m in made:
        d.ok("call.hangup", {"call": m["call"]})
    assert d.error("acc.create", {"uri": "sip:x@127.0.0.1", "replicas": "both"})["code"] == (
        "E_BAD_ARGS")
    d.ok("acc.delete", {"acc": "bob"})


def test_redirect_policy_over_raw_msgpack(fleet: Fleet, zctx: zmq.Context[zmq.Socket[bytes]],
                                          tmp_path: Path) -> None:
    """A 302 from SIPp: followed to bob by one account's policy, stopped by the other's."""
    d = Peer(zctx, fleet.clients_url, "redirect")
    bob = d.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200})
    d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice", "redirect": "follow"})
    d.ok("acc.create", {"uri": "sip:dave@127.0.0.1", "acc": "dave", "redirect": "follow"})
    assert d.ok("acc.set_policy", {"acc": "dave", "redirect": "stop"}) == {}
    for op, args in (("acc.create", {"uri": "sip:x@127.0.0.1", "redirect": "back"}),
                     ("acc.set_policy", {"acc": "alice", "redirect": "accept"}),
                     ("acc.set_policy", {"acc": "alice", "redirect": 1})):
        assert d.error(op, args)["code"] == "E_BAD_ARGS", (op, args)
    assert d.error("acc.set_policy", {"acc": "nope", "redirect": "stop"})["code"] == "E_NOT_FOUND"

    def through_302(acc: str, call: str) -> dict[str, object]:
        (tmp_path / call).mkdir()
        proc, port = start_redirector(bob["contact"], tmp_path / call)
        try:
            d.ok("call.make", {"acc": acc, "uri": f"sip:moved@127.0.0.1:{port}", "call": call})
            d.wait(lambda ev: bool(about(ev, call, "call.redirected")), f"{call} redirected")
            assert proc.wait(40) == 0
        finally:
            stop(proc)
        data: dict[str, object] = about(d.events, call, "call.redirected")[0]["data"]
        return data

    followed = through_302("alice", "r1")
    assert (followed["target"], followed["decision"]) == (bob["contact"], "follow")
    d.wait(lambda ev: any(e["data"]["state"] == "CONFIRMED" for e in about(ev, "r1", "call.state"))
           and bool(about(ev, "bob", "acc.incoming_call")), "the followed call answered by bob")
    stopped = through_302("dave", "r2")
    assert (stopped["target"], stopped["decision"]) == (bob["contact"], "stop")
    d.wait(lambda ev: any(e["data"]["state"] == "DISCONNECTED" for e in about(ev, "r2", "call.state")),
           "the stopped call to end")
    end = about(d.events, "r2", "call.state")[-1]["data"]
    assert (end["state"], end["code"], end["reason"]) == ("DISCONNECTED", 302, "Moved Temporarily")
    assert len(about(d.events, "bob", "acc.incoming_call")) == 1  # only the followed call
    d.ok("call.hangup", {"call": "r1"})
    d.wait(lambda ev: about(ev, "r1", "call.state")[-1]["data"]["state"] == "DISCONNECTED", "the end")


def test_account_modify_over_raw_msgpack(kam: Kamailio, fleet: Fleet,
                                         zctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    """A registered account modified to a new expiry registers anew with it; its errors."""
    d = Peer(zctx, fleet.clients_url, "modify")
    sip = {"registrar": kam.uri, "proxy": kam.uri, "username": "alice", "password": PASSWORD}
    d.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice", "expires": 120, **sip})

    def regs(ev: list[Event]) -> list[dict[str, object]]:
        return [e["data"] for e in about(ev, "alice", "acc.reg_state")]

    d.wait(lambda ev: [r["code"] for r in regs(ev)] == [200], "the registration")
    assert d.ok("acc.modify", {"acc": "alice", "expires": 600, **sip}) == {}
    d.wait(lambda ev: len(regs(ev)) == 2, "the registration with the new expiry")
    new = regs(d.events)[1]
    assert new["code"] == 200 and new["active"] is True
    assert 120 < int(str(new["expires"])) <= 600
    for args in ({"acc": "alice", "registrar": "example.org"},  # not a URI
                 {"acc": "alice", "expires": 10},  # below the minimum
                 {"acc": "alice", "transport": "tcp"},  # not a setting acc.modify changes
                 {"acc": "alice", "uri": "sip:bob@127.0.0.1"}):
        assert d.error("acc.modify", args)["code"] == "E_BAD_ARGS", args
    err = d.error("acc.modify", {"acc": "nope", "expires": 60})
    assert (err["code"], err["obj"], err["op"]) == ("E_NOT_FOUND", "nope", "acc.modify")
    assert PASSWORD not in repr(d.events)
