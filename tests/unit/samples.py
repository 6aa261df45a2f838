"""Valid arguments, results and event data for every op and event, shared by the proto tests."""

from __future__ import annotations

from typing import Any

from proto import OPS
from proto.schema import Field

#: A valid request from a client, per op, with every client field filled in.
CLIENT_ARGS: dict[str, dict[str, Any]] = {
    "lib.agents": {},
    "lib.status": {},
    "lib.transports": {},
    "acc.add_buddy": {"acc": "a1", "uri": "sip:bob@127.0.0.1", "buddy": "b1", "subscribe": True},
    "buddy.subscribe": {"buddy": "b1", "subscribe": False},
    "buddy.info": {"buddy": "b1"},
    "buddy.delete": {"buddy": "b1"},
    "call.transfer_replaces": {"call": "c1", "dest_call": "c2", "headers": {"X-A": "b"}},
    "acc.set_presence": {"acc": "a1", "online": True, "activity": "busy", "note": "in a meeting"},
    "acc.create": {"uri": "sip:alice@127.0.0.1", "auto_answer": 200, "acc": "a1",
                   "registrar": "sip:127.0.0.1:5090", "username": "alice", "password": "pw",
                   "realm": "127.0.0.1", "expires": 300, "proxy": "sip:127.0.0.1:5090;lr",
                   "transfer": "reject", "transfer_code": 486, "transport": "tcp",
                   "agent": "agent-1", "replicas": "all"},
    "acc.set_policy": {"acc": "a1", "transfer": "accept", "transfer_code": 603,
                       "subscribe": "reject", "subscribe_code": 480, "replaces": "reject",
                       "replaces_code": 486, "redirect": "follow"},
    "acc.set_registration": {"acc": "a1", "renew": False},
    "acc.modify": {"acc": "a1", "registrar": "sip:127.0.0.1:5090", "username": "alice",
                   "password": "pw", "realm": "127.0.0.1", "expires": 60,
                   "proxy": "sip:127.0.0.1:5090;lr"},
    "acc.send_pager": {"acc": "a1", "uri": "sip:bob@127.0.0.1", "text": "hello",
                       "content_type": "text/plain", "im_id": 7, "headers": {"X-A": "b"}},
    "acc.send_typing_ind": {"acc": "a1", "uri": "sip:bob@127.0.0.1", "is_typing": True,
                            "headers": {"X-A": "b"}},
    "acc.delete": {"acc": "a1"},
    "call.make": {"acc": "a1", "uri": "sip:bob@127.0.0.1:5070",
                  "headers": {"X-Test": "1", "Subject": "hello there"}, "call": "c1"},
    "call.answer": {"call": "c1", "code": 180, "reason": "Ringing", "headers": {"X-A": "b"}},
    "call.hangup": {"call": "c1", "code": 486, "reason": "Busy Here", "headers": {"X-A": "b"}},
    "call.info": {"call": "c1"},
    "call.hold": {"call": "c1", "headers": {"X-A": "b"}},
    "call.unhold": {"call": "c1", "headers": {"X-A": "b"}},
    "call.reinvite": {"call": "c1", "headers": {"X-A": "b"}},
    "call.update": {"call": "c1", "headers": {"X-A": "b"}},
    "call.dial_dtmf": {"call": "c1", "digits": "123*#ABCD", "method": "info"},
    "call.send_pager": {"call": "c1", "text": "hi", "content_type": "text/plain", "im_id": 3,
                        "headers": {"X-A": "b"}},
    "call.send_typing_ind": {"call": "c1", "is_typing": False, "headers": {"X-A": "b"}},
    "call.stats": {"call": "c1"},
    "call.transfer": {"call": "c1", "uri": "sip:carol@127.0.0.1", "headers": {"X-A": "b"}},
    "events.subscribe": {"sub": "s1", "include": {"events": ["call."], "accounts": ["a1"]},
                         "exclude": {"events": ["call.media_state"]}, "snapshot": True},
    "events.unsubscribe": {"sub": "s1"},
    "load.start": {"rate": 20.0, "ramp": 2.0, "calls": 200, "duration": 0.0,
                   "max_concurrent": 16, "hold": "exp:1", "self": True, "answer_delay": 0.5,
                   "answer_codes": "200:90,486:10", "hangup": "callee", "agents": 4, "run": "L1",
                   "callers": 8, "registrar": "sip:registrar.example:5060", "media": "tone",
                   "credentials": [{"user": "u1", "password": "p1"},
                                   {"user": "u2", "password": "p2", "domain": "example.org"}]},
    "load.status": {"run": "L1"},
    "load.set_rate": {"run": "L1", "rate": 5.0},
    "load.stop": {"run": "L1"},
    "load.agent_start": {"run": "L1", "caller": {"ids": [{"uri": "sip:L1-call@127.0.0.1"}],
                                                 "rate": 5.0},
                         "answer": {"ids": [{"uri": "sip:L1-ans@127.0.0.1"}], "delay": 0.0}},
    "load.agent_go": {"run": "L1"},
    "load.agent_targets": {"run": "L1", "targets": ["sip:L1-ans@127.0.0.1:5062"]},
    "load.agent_rate": {"run": "L1", "rate": 2.5},
    "load.agent_end": {"run": "L1"},
    "agent.fatal": {"name": "agent-02", "group": "agent", "host": "host-1",
                    "from_state": "BACKOFF"},
    "client.lease": {"lease": 5.0},
    "client.adopt": {"objects": ["a1", "c2"]},
    "agent.hello": {"name": "agent-1", "host": "host-1", "pid": 4242,
                    "sip": ["udp:127.0.0.1:5060"], "capacity": 16, "max_accounts": 8, "pjsip": "2.15.1",
                    "calls": 0, "accounts": 0, "media": 0},
    "agent.bye": {"stage": "leaving"},
    "media.create_tone": {"agent": "agent-1", "call": "c1", "freq1": 1000, "freq2": 1400,
                          "on_ms": 200, "off_ms": 100},
    "media.create_player": {"agent": "agent-1", "call": "c1", "filename": "/tmp/a.wav",
                            "loop": True},
    "media.create_recorder": {"agent": "agent-1", "call": "c1", "filename": "/tmp/b.wav"},
    "media.player_set_pos": {"media": "agent-1/player-ab12.1", "pos": 8000},
    "media.destroy": {"media": "agent-1/player-ab12.1"},
    "media.conf_connect": {"src": "agent-1/tone-ab12.2", "dst": "c1"},
    "media.conf_disconnect": {"src": "c1", "dst": "agent-1/recorder-ab12.3"},
    "lib.enum_codecs": {"agent": "agent-1"},
    "lib.set_codec_priority": {"codec": "PCMU/8000", "priority": 0, "agent": "agent-1"},
    "lib.enum_snd_dev": {"agent": "agent-1"},
}

#: The agent-only fields the coordinator adds when it forwards a request to an agent.
AGENT_EXTRA: dict[str, dict[str, Any]] = {
    "acc.create": {"acc": "a1"},
    "acc.add_buddy": {"buddy": "b1"},
    "buddy.subscribe": {"acc": "a1"},
    "buddy.info": {"acc": "a1"},
    "buddy.delete": {"acc": "a1"},
    "call.make": {"call": "c1", "acc_cfg": {"uri": "sip:alice@127.0.0.1", "auto_answer": 200}},
}

#: Valid data per event.
EVENT_DATA: dict[str, dict[str, Any]] = {
    "acc.incoming_call": {"call": "c7", "agent": "agent-1", "remote_uri": "sip:bob@127.0.0.1",
                          "local_uri": "sip:alice@127.0.0.1", "call_id": "abc123@127.0.0.1"},
    "acc.reg_state": {"code": 401, "reason": "Unauthorized", "active": False, "expires": 0,
                      "status": 171100, "agent": "agent-1"},
    "acc.moved": {"agent": "agent-2", "contact": "sip:alice@127.0.0.1:5072", "from": "agent-1",
                  "reason": "worker_lost"},
    "call.state": {"state": "CONFIRMED", "code": 200, "reason": "OK",
                   "remote_uri": "sip:bob@127.0.0.1", "call_id": "abc123@127.0.0.1",
                   "role": "caller", "agent": "agent-1"},
    "call.media_state": {"media": "ACTIVE", "dir": "sendrecv"},
    "acc.buddy_state": {"buddy": "b1", "uri": "sip:bob@127.0.0.1",
                        "contact": "<sip:bob@127.0.0.1:5062>", "status": "online",
                        "status_text": "Online", "note": "in a meeting", "activity": "busy",
                        "monitoring": True, "sub_state": "ACTIVE", "sub_code": 0,
                        "sub_reason": ""},
    "call.replace_request": {"code": 200, "new_call": "agent-1:in4",
                             "from_uri": "<sip:bob@127.0.0.1>", "agent": "agent-1"},
    "acc.incoming_subscribe": {"from_uri": "<sip:alice@127.0.0.1>", "code": 200},
    "call.dtmf": {"digit": "#", "method": "rfc2833", "duration": 160},
    "call.pager": {"from_uri": "<sip:alice@127.0.0.1>", "mime": "text/plain", "body": "hi"},
    "call.pager_status": {"body": "hi", "im_id": 3, "code": 200, "reason": "OK"},
    "call.typing": {"is_typing": True},
    "call.transfer_request": {"uri": "<sip:carol@127.0.0.1>", "code": 202, "new_call": "agent-1:in3",
                              "agent": "agent-1"},
    "call.transfer_status": {"code": 200, "reason": "OK", "final": True},
    "call.redirected": {"target": "<sip:carol@127.0.0.1:5072>", "decision": "stop",
                        "agent": "agent-1"},
    "acc.pager": {"from_uri": "<sip:alice@127.0.0.1>", "to_uri": "<sip:bob@127.0.0.1>",
                  "contact": "<sip:alice@127.0.0.1:5060>", "mime": "text/plain", "body": "hello"},
    "acc.pager_status": {"to_uri": "sip:bob@127.0.0.1", "body": "hello", "im_id": 7, "code": 404,
                         "reason": "Not Found"},
    "acc.mwi_info": {"state": "ACTIVE", "waiting": True, "voice_new": 2, "voice_old": 8,
                     "body": "Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/0)\r\n"},
    "acc.typing": {"from_uri": "<sip:alice@127.0.0.1>", "to_uri": "<sip:bob@127.0.0.1>",
                   "contact": "", "is_typing": False},
    "agent.error": {"where": "onCallState", "msg": "boom", "trace": "Traceback ..."},
    "agent.draining": {"why": "40 of 128 conference bridge ports leaked", "bridge_used": 45,
                       "bridge_max": 128, "bridge_leaked": 40, "sockets": 6, "sockets_leaked": 0,
                       "fds": 16, "rss_kb": 41000},
    "events.gap": {"dropped": 12, "replies": 1, "total": 40},
    "client.expired": {"client": "636c69656e742f31", "life": "9f2c", "key": "", "lease": 5.0,
                       "idle": 5.02, "accounts": 2, "buddies": 1, "calls": 1, "media": 0,
                       "subscriptions": 1, "runs": 0, "kept": 1},
    "load.stats": {"agent": "agent-1", "started": 5, "answered": 4, "delayed": 1, "incoming": 4,
                   "failed": {"486": 1}, "active": 2, "setup": {"b": [[3, 4]], "max": 3},
                   "duration": {"b": [], "max": 0}, "caller_done": False, "done": False},
    "load.progress": {"elapsed": 1.0, "started": 5, "answered": 4, "failed": 1, "active": 2,
                      "rate": 5.0, "target_rate": 5.0, "delayed": 0, "setup_p50_ms": 1.5,
                      "setup_p95_ms": 2.5},
    "load.done": {"report": {"run": "L1", "success": True, "by_agent": [
        {"agent": "agent-1", "started": 5, "answered": 4, "incoming": 4, "failed": 1}]}},
    "media.player_eof": {"agent": "agent-1", "loop": False},
}

#: A value of each field kind that is not of that kind (None is "absent", so it is not here).
WRONG_TYPES: dict[str, list[Any]] = {
    "str": [1, 1.5, True, [], {}, b"x"],
    "uri": [1, 1.5, True, [], {}, b"sip:a@b"],
    "int": ["1", 1.5, True, False, [], {}, b"1"],
    "float": ["1", True, [], {}],
    "bool": [1, 0, "true", [], {}],
    "map": ["x", 1, [], True],
    "headers": ["X-A: b", 1, [], True, [["X-A", "b"]]],
    "list": ["x", 1, {}, True],
    "sdp_attrs": ["label:main", 1, {}, True, ["a=label:main"], ["sendonly"]],
}


def sample_value(f: Field) -> Any:
    """Some valid value for field ``f`` (used to build results)."""
    if f.kind in ("int", "float"):
        return int(f.lo) if f.lo is not None else 1
    return {"str": "x", "uri": "sip:x@127.0.0.1", "bool": True, "map": {"k": "v"},
            "list": ["a", 1], "headers": {"X-A": "b"}, "sdp_attrs": ["label:main"],
            "any": None}[f.kind]


def sample_result(op: str) -> dict[str, Any]:
    return {f.name: sample_value(f) for f in OPS[op].result}


def coordinator_args(op: str) -> dict[str, Any]:
    """A valid request as the coordinator forwards it to an agent."""
    return {**CLIENT_ARGS[op], **AGENT_EXTRA.get(op, {})}
