"""The account's extra SDP attributes: their check (proto.schema) and how the agent adds them to
the SDP PJSIP wrote (agent.sdp). Pure."""

from __future__ import annotations

import pytest

from agent.sdp import add_audio_attributes
from proto import ProtoError
from proto.schema import check_sdp_attrs

SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=pjmedia\r\nt=0 0\r\n"
       "m=audio 4000 RTP/AVP 0 101\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:0 PCMU/8000\r\n"
       "m=video 0 RTP/AVP 31\r\n"
       "m=audio 4002 RTP/AVP 0\r\na=sendrecv\r\n")


def test_attributes_end_every_audio_media_and_nothing_else() -> None:
    out = add_audio_attributes(SDP, ["label:main", "X-a"])
    assert out == SDP.replace("PCMU/8000\r\n", "PCMU/8000\r\na=label:main\r\na=X-a\r\n").replace(
        "a=sendrecv\r\n", "a=sendrecv\r\na=label:main\r\na=X-a\r\n")
    assert out.endswith("\r\n") and "\n\n" not in out.replace("\r\n", "|")


def test_no_attributes_no_change_and_bare_newlines_kept() -> None:
    assert add_audio_attributes(SDP, []) is SDP
    lf = SDP.replace("\r\n", "\n")
    assert add_audio_attributes(lf, ["k"]).count("\na=k\n") == 2
    assert add_audio_attributes("v=0\r\ns=-\r\n", ["k"]) == "v=0\r\ns=-\r\n"  # no audio


@pytest.mark.parametrize("attrs", [["label:main"], ["X-y:1 2 3", "content:slides"], ["a"] * 8])
def test_good_attributes_pass(attrs: list[str]) -> None:
    check_sdp_attrs(attrs, "acc.create")


@pytest.mark.parametrize(("attrs", "says"), [
    (["a=label:1"], "not an SDP attribute"), (["label:\r\nm=video 9"], "not an SDP attribute"),
    ([""], "not an SDP attribute"), ([7], "not an SDP attribute"), (["x" * 201], "not an SDP"),
    (["é"], "not an SDP attribute"), (["x"] * 9, "more than 8"),
    (["rtpmap:0 PCMU/8000"], "PJSIP itself"), (["SendOnly"], "PJSIP itself"),
    (["crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x"], "PJSIP itself")])
def test_bad_attributes_are_refused(attrs: list[object], says: str) -> None:
    with pytest.raises(ProtoError) as exc:
        check_sdp_attrs(attrs, "acc.create")  # type: ignore[arg-type]
    assert exc.value.code == "E_BAD_ARGS" and says in exc.value.msg
