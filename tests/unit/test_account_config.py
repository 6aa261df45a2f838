"""Account settings: the client's AccountConfig, the coordinator's replica settings, and the
agent's checks of them (pure parts; no Endpoint is started)."""

from __future__ import annotations

import pytest

from agent.account_config import check_replica_cfg, loose_route
from coordinator.client import AccountConfig
from coordinator.server.objects import AccountRec
from proto import ProtoError


def test_account_config_mirrors_pjsua_and_hides_the_password() -> None:
    cfg = AccountConfig("example.org", "alice", "pw-123", registrar="sip:example.org",
                        proxy="sip:10.0.0.1:5060", reg_timeout=120)
    assert cfg.id == "sip:alice@example.org"
    assert cfg.args() == {"uri": "sip:alice@example.org", "registrar": "sip:example.org",
                          "proxy": "sip:10.0.0.1:5060", "username": "alice", "expires": 120,
                          "password": "pw-123"}
    assert "pw-123" not in repr(cfg)
    assert AccountConfig("example.org", "bob", display="Bob").id == '"Bob" <sip:bob@example.org>'
    assert AccountConfig(id="sip:c@d", realm="d", username="c", password="").args() == {
        "uri": "sip:c@d", "username": "c", "password": "", "realm": "d"}
    assert AccountConfig(id="sip:local@127.0.0.1").args() == {"uri": "sip:local@127.0.0.1"}


def test_call_options_are_sent_unless_left_at_their_default() -> None:
    """lock_codec is on by default: only another value goes on the wire (a wrong one too, so
    the coordinator refuses it rather than the client dropping it); sdp_attrs when given."""
    base = {"uri": "sip:a@b"}
    assert AccountConfig(id="sip:a@b").args() == base
    assert AccountConfig(id="sip:a@b", lock_codec=False).args() == {**base, "lock_codec": False}
    assert AccountConfig(id="sip:a@b", lock_codec="no").args() == {  # type: ignore[arg-type]
        **base, "lock_codec": "no"}
    assert AccountConfig(id="sip:a@b", sdp_attrs=["label:1"]).args() == {
        **base, "sdp_attrs": ["label:1"]}


def test_replica_settings_carry_proxy_and_credentials() -> None:
    rec = AccountRec("a1", b"client", "sip:alice@example.org", 200, home="agent-1",
                     sip={"registrar": "sip:example.org", "username": "alice", "password": "pw"})
    assert rec.cfg() == {"uri": "sip:alice@example.org", "registrar": "sip:example.org",
                         "username": "alice", "password": "pw", "auto_answer": 200}
    assert "pw" not in repr(rec)
    assert check_replica_cfg(rec.cfg(), "a1") == rec.cfg()


@pytest.mark.parametrize("bad", [{"uri": "sip:a@b", "password": 5}, {"uri": "sip:a@b", "x": 1},
                                 {"uri": "sip:a@b", "expires": 5}, {"uri": "mailto:a@b"}])
def test_bad_replica_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ProtoError) as exc:
        check_replica_cfg(bad, "a1")
    assert exc.value.code == "E_BAD_ARGS" and exc.value.op == "call.make"


@pytest.mark.parametrize(("uri", "want"), [
    ("sip:10.0.0.1:5060", "sip:10.0.0.1:5060;lr"),
    ("sip:10.0.0.1;lr", "sip:10.0.0.1;lr"),
    ("<sip:p.example.org;transport=udp>", "sip:p.example.org;transport=udp;lr"),
    ("sip:p.example.org;LR", "sip:p.example.org;LR"),
])
def test_proxies_get_loose_routing(uri: str, want: str) -> None:
    assert loose_route(uri) == want


def test_accounts_keep_ice_srtp_and_stun_off() -> None:
    """pjproject 2.15.1's vulnerable paths stay off on every account the agent builds (SRTP
    unless the account asks for it)."""
    import pjsua2 as pj

    from agent.account_config import build

    for register in (True, False):
        cfg = build("sip:alice@127.0.0.1", {"registrar": "sip:127.0.0.1:5090", "username": "a",
                                            "password": "pw"}, register)
        assert cfg.natConfig.iceEnabled is False and cfg.natConfig.turnEnabled is False
        assert cfg.natConfig.sipStunUse == pj.PJSUA_STUN_USE_DISABLED
        assert cfg.natConfig.mediaStunUse == pj.PJSUA_STUN_USE_DISABLED
        assert cfg.mediaConfig.srtpUse == pj.PJMEDIA_SRTP_DISABLED


def test_call_options_go_on_the_wire_under_pjsua_names() -> None:
    cfg = AccountConfig(id="sip:a@b", require_100rel="mandatory", use_timer="always", timer_se=120,
                        timer_min_se=90, use_srtp="optional", srtp_keying="dtls,sdes",
                        srtp_secure_signaling=0)
    assert cfg.args() == {"uri": "sip:a@b", "require_100rel": "mandatory", "use_timer": "always",
                          "timer_se": 120, "timer_min_se": 90, "use_srtp": "optional",
                          "srtp_keying": "dtls,sdes", "srtp_secure_signaling": 0}
    assert check_replica_cfg(cfg.args(), "a1") == cfg.args()


@pytest.mark.parametrize("bad", [{"require_100rel": "yes"}, {"use_timer": "sometimes"},
                                 {"timer_se": 30}, {"use_srtp": "on"}, {"srtp_keying": "zrtp"},
                                 {"srtp_secure_signaling": 3}])
def test_bad_call_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ProtoError):
        check_replica_cfg({"uri": "sip:a@b", **bad}, "a1")


def test_call_options_reach_pjsua2s_account_config() -> None:
    import pjsua2 as pj

    from agent.account_config import build

    cfg = build("sip:a@127.0.0.1", {"require_100rel": "optional", "use_timer": "required",
                                    "timer_se": 600, "timer_min_se": 120, "use_srtp": "mandatory",
                                    "srtp_keying": "dtls,sdes", "srtp_secure_signaling": 1}, False)
    assert cfg.callConfig.prackUse == pj.PJSUA_100REL_OPTIONAL
    assert cfg.callConfig.timerUse == pj.PJSUA_SIP_TIMER_REQUIRED
    assert (cfg.callConfig.timerSessExpiresSec, cfg.callConfig.timerMinSESec) == (600, 120)
    assert cfg.mediaConfig.srtpUse == pj.PJMEDIA_SRTP_MANDATORY
    assert cfg.mediaConfig.srtpSecureSignaling == 1
    assert list(cfg.mediaConfig.srtpOpt.keyings) == [pj.PJMEDIA_SRTP_KEYING_DTLS_SRTP,
                                                     pj.PJMEDIA_SRTP_KEYING_SDES]
    plain = build("sip:a@127.0.0.1", {}, False)
    assert plain.callConfig.prackUse == pj.PJSUA_100REL_NOT_USED
    assert plain.callConfig.timerUse == pj.PJSUA_SIP_TIMER_INACTIVE
    with pytest.raises(ProtoError, match="timer_se"):
        build("sip:a@127.0.0.1", {"timer_se": 100, "timer_min_se": 200}, False)
    # DTLS-SRTP is not in the wheel's build: asked alone, a clear refusal
    with pytest.raises(ProtoError, match="DTLS-SRTP is not in this agent's PJSIP build"):
        build("sip:a@127.0.0.1", {"use_srtp": "optional", "srtp_keying": "dtls"}, False)


def test_mwi_subscribes_from_the_home_agent_only() -> None:
    from agent.account_config import build

    home = build("sip:a@127.0.0.1", {"mwi": True, "mwi_expires": 600}, True)
    replica = build("sip:a@127.0.0.1", {"mwi": True}, False)
    assert (home.mwiConfig.enabled, home.mwiConfig.expirationSec) == (True, 600)
    assert replica.mwiConfig.enabled is False
    assert build("sip:a@127.0.0.1", {}, True).mwiConfig.enabled is False


@pytest.mark.parametrize(("body", "want"), [
    ("Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\n", (True, 2, 8)),
    ("Messages-Waiting: no\r\n", (False, 0, 0)),
    ("messages-waiting:YES\r\nvoice-message: 11 / 0\r\n", (True, 11, 0)),
    ("", (False, 0, 0)), ("garbage\x00", (False, 0, 0))])
def test_message_summaries_are_read(body: str, want: tuple[bool, int, int]) -> None:
    from proto.mwi import summary

    got = summary(body)
    assert (got["waiting"], got["voice_new"], got["voice_old"]) == want
