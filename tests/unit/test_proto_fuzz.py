"""Property: whatever bytes arrive, decode + check_request/check_event end in a Message or a ProtoError.

Over 100,000 inputs per run, split over four tests (see TARGETS): random bytes, random
msgpack-encodable structures (shapeless and envelope-shaped), byte-level mutations of valid
frames, and structural mutations of valid messages. Each test counts the inputs it fed and
checks the count, so the total is not just a setting. A failure prints a @reproduce_failure
blob, and Hypothesis's example database (.hypothesis/, which ignores itself in git) replays it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import proto
from proto import EVENTS, KINDS, OPS, Message, ProtoError, limits

from .samples import CLIENT_ARGS, EVENT_DATA, coordinator_args, sample_result

MUTATIONS_PER_FRAME = 30
#: inputs each test must feed per run (Hypothesis examples x inputs fed per example)
TARGETS = {"bytes": 10_000, "structures": 2_000 * 4, "mutated_frames": 3_200 * MUTATIONS_PER_FRAME,
           "mutated_messages": 2_500}
assert sum(TARGETS.values()) >= 100_000

DECODE_CODES = {"E_BAD_MSG", "E_BAD_VERSION"}
CHECK_CODES = {"E_BAD_ARGS", "E_UNKNOWN_OP"}


def feed(frame: bytes) -> Message | ProtoError:
    """Run one input through the receiving side; any exception but ProtoError fails the test."""
    try:
        msg = proto.decode(frame)
    except ProtoError as exc:
        assert exc.code in DECODE_CODES, exc
        # the error reply to it must itself be a valid frame
        reply = proto.decode(proto.encode(proto.error(None, exc)))
        assert reply.ok is False
        return exc
    assert isinstance(msg, Message)
    assert msg.kind in KINDS
    checks: list[Callable[[], None]] = []
    if msg.kind == "req":
        checks = [lambda: proto.check_request(msg),
                  lambda: proto.check_request(msg, from_coordinator=True)]
    elif msg.kind == "evt":
        checks = [lambda: proto.check_event(msg)]
    for check in checks:
        try:
            check()
        except ProtoError as exc:
            assert exc.code in CHECK_CODES, exc
    # decoded messages re-encode to a fixed point (re-encoding may add a few bytes: the
    # defaults of absent fields, an int ts as a float, so stay clear of the frame limit)
    if len(frame) <= limits.MAX_FRAME // 2:
        again = proto.encode(msg)
        assert proto.encode(proto.decode(again)) == again
    return msg


def counted(name: str) -> tuple[Callable[[bytes], None], Callable[[], None]]:
    """A feed() that counts, and a check that it was called TARGETS[name] times at least."""
    fed = [0]

    def feed_counted(frame: bytes) -> None:
        fed[0] += 1
        feed(frame)

    def check() -> None:
        assert fed[0] >= TARGETS[name], f"{name}: only {fed[0]} inputs"

    return feed_counted, check


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- strategies ------------------------------------------------------------------------------

LEAVES = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
          | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
          | st.binary(max_size=30))
KEYS = st.text(max_size=12) | st.integers(-3, 3) | st.binary(max_size=4) | st.none() | st.booleans()
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=6)
                      | st.dictionaries(KEYS, inner, max_size=3), max_leaves=20)
#: like VALUES, but every map key is a string (so decode gets past its key check)
STR_KEYED = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=6)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=12)

FIELD_NAMES = sorted({f.name for spec in OPS.values() for f in spec.args + spec.agent_args}
                     | {f.name for spec in EVENTS.values() for f in spec.data})
PLAUSIBLE = (LEAVES | st.sampled_from(["sip:a@127.0.0.1", "<sip:b@h>", "tel:1", "sip:", "c1", "a1"])
             | st.integers(90, 710) | st.dictionaries(st.text(max_size=10), st.text(max_size=10),
                                                     max_size=4))
ARGS = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), PLAUSIBLE | VALUES,
                       max_size=8)
NAMES = st.sampled_from(sorted(OPS) + sorted(EVENTS) + ["hb"]) | st.text(max_size=70) | LEAVES
ENVELOPES = st.fixed_dictionaries({}, optional={
    "v": st.just(limits.VERSION) | LEAVES,
    "kind": st.sampled_from(KINDS) | LEAVES,
    "id": st.text(max_size=70) | LEAVES,
    "op": NAMES,
    "args": ARGS | VALUES,
    "ok": st.booleans() | LEAVES,
    "result": ARGS | VALUES,
    "error": ARGS | VALUES,
    "obj": st.text(max_size=70) | LEAVES,
    "seq": st.integers(-2, 2**64 - 1) | LEAVES,
    "ts": st.floats() | LEAVES,
    "data": ARGS | VALUES,
})


def valid_messages() -> list[Message]:
    out: list[Message] = [proto.hb({}), proto.hb({"calls": 1, "sockets_free": 40, "known": False})]
    for op in sorted(OPS):
        request = proto.req(op, CLIENT_ARGS[op], f"r-{op}")
        out += [request, proto.req(op, coordinator_args(op), "fwd-1"),
                proto.ok(request, sample_result(op)),
                proto.error(request, ProtoError("E_NOT_FOUND", "gone", obj="c1"))]
    out += [proto.evt(name, "c1", 5, EVENT_DATA[name], ts=17.25) for name in sorted(EVENTS)]
    return out


VALID = valid_messages()
VALID_FRAMES = [proto.encode(m) for m in VALID]
INTERESTING = bytes([0x00, 0x01, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3,
                     0xC4, 0xC7, 0xCA, 0xCB, 0xCF, 0xD3, 0xD4, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE,
                     0xDF, 0xE0, 0xFF])


def mutate(frame: bytes, rnd: random.Random) -> bytes:
    """One to three random byte-level edits of ``frame``."""
    buf = bytearray(frame)
    for _ in range(rnd.randint(1, 3)):
        if not buf:
            buf += bytes([rnd.choice(INTERESTING)])
        i = rnd.randrange(len(buf))
        op = rnd.randrange(9)
        if op == 0:
            buf[i] ^= 1 << rnd.randrange(8)
        elif op == 1:
            buf[i] = rnd.randrange(256)
        elif op == 2:
            buf[i] = rnd.choice(INTERESTING)
        elif op == 3:
            del buf[i:i + rnd.randint(1, 8)]
        elif op == 4:
            buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        elif op == 5:
            j = rnd.randrange(len(buf))
            buf[i:i] = buf[min(i, j):max(i, j) + 1]
        elif op == 6:
            del buf[i:]
        elif op == 7:
            other = rnd.choice(VALID_FRAMES)
            buf[i:] = other[rnd.randrange(len(other)):]
        else:
            buf[i:i + 4] = b"\xff" * rnd.randint(1, 4)
    return bytes(buf)


def containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value``, itself included."""
    if isinstance(value, dict):
        return [value] + [c for v in value.values() for c in containers(v)]
    if isinstance(value, list):
        return [value] + [c for v in value for c in containers(v)]
    return []


# -- the properties --------------------------------------------------------------------------

def test_random_bytes() -> None:
    feed_counted, check = counted("bytes")
    prefixes = st.sampled_from([b"", b"\x85", b"\x86\xa1v\x01", b"\x84\xa4kind\xa3req", b"\xde\x00"])

    @fuzz_settings(TARGETS["bytes"])
    @given(prefixes, st.binary(max_size=400))
    def run(prefix: bytes, tail: bytes) -> None:
        feed_counted(prefix + tail)

    run()
    check()


def test_random_structures() -> None:
    feed_counted, check = counted("structures")

    @fuzz_settings(TARGETS["structures"] // 4)
    @given(ENVELOPES | VALUES, st.sampled_from(sorted(OPS)), st.sampled_from(sorted(EVENTS)))
    def run(value: Any, op: str, event: str) -> None:
        # str/bin distinguished, and the old raw format where bytes pack as str
        feed_counted(msgpack.packb(value, use_bin_type=True))
        feed_counted(msgpack.packb(value, use_bin_type=False))
        # the same value as the arguments of a request and as the data of an event
        feed_counted(msgpack.packb({"v": 1, "kind": "req", "id": "r", "op": op, "args": value}))
        feed_counted(msgpack.packb({"v": 1, "kind": "evt", "id": "", "op": event, "obj": "c1",
                                    "seq": 1, "ts": 1.5, "data": value}))

    run()
    check()


def test_mutated_frames() -> None:
    feed_counted, check = counted("mutated_frames")

    @fuzz_settings(TARGETS["mutated_frames"] // MUTATIONS_PER_FRAME)
    @given(st.sampled_from(VALID_FRAMES), st.randoms(use_true_random=False))
    def run(frame: bytes, rnd: random.Random) -> None:
        for _ in range(MUTATIONS_PER_FRAME):
            feed_counted(mutate(frame, rnd))

    run()
    check()


def test_mutated_messages() -> None:
    feed_counted, check = counted("mutated_messages")

    @fuzz_settings(TARGETS["mutated_messages"])
    @given(st.sampled_from(VALID), st.data())
    def run(msg: Message, data: st.DataObject) -> None:
        wire = copy.deepcopy(msg.to_wire())
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            places = containers(wire)
            if len(places) > 1 and data.draw(st.integers(0, 3), label="inside") > 0:
                places = places[1:]  # mostly edit inside the envelope: args, result, data
            target = data.draw(st.sampled_from(places), label="container")
            how = data.draw(st.sampled_from(["set", "delete", "add"]), label="how")
            value = data.draw(PLAUSIBLE | STR_KEYED, label="value")
            if isinstance(target, dict):
                if how == "add" or not target:
                    odd_key = data.draw(st.integers(0, 9), label="odd key") == 0
                    key = data.draw(KEYS if odd_key else st.sampled_from(FIELD_NAMES)
                                    | st.text(max_size=8), label="new key")
                else:
                    key = data.draw(st.sampled_from(list(target)), label="key")
                if how == "delete":
                    target.pop(key, None)
                else:
                    target[key] = value
            elif how == "delete" and target:
                target.pop(data.draw(st.integers(0, len(target) - 1), label="index"))
            else:
                target.append(value)
        feed_counted(msgpack.packb(wire, use_bin_type=True))

    run()
    check()


def test_feed_sees_valid_frames_as_messages() -> None:
    # the fuzz seeds are valid, and feed() tells them apart from garbage
    for frame, msg in zip(VALID_FRAMES, VALID, strict=True):
        assert feed(frame) == msg
    assert isinstance(feed(b"\xc1"), ProtoError)
