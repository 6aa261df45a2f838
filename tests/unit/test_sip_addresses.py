"""The SIP addresses agents announce, and the contacts and transports built from them."""

from __future__ import annotations

from proto.sip_addresses import SipAddress, Transport, addresses, contact, find, parse


def test_parse_addresses() -> None:
    assert parse("udp:127.0.0.1:5060") == SipAddress("udp", "127.0.0.1", 5060)
    assert parse("TLS:[::1]:5061") == SipAddress("tls", "[::1]", 5061)
    assert [parse(bad) for bad in ("", "udp", "udp:127.0.0.1", "tcp:host:port", ":h:1")] == [
        None] * 5
    sip = ["udp:127.0.0.1:5060", "junk", "tcp:127.0.0.1:5070", "tls:127.0.0.1:5071"]
    assert [a.kind for a in addresses(sip)] == ["udp", "tcp", "tls"]
    assert find(sip) == SipAddress("udp", "127.0.0.1", 5060)
    assert find(sip, "tls") == SipAddress("tls", "127.0.0.1", 5071)
    assert find(sip, "sctp") is None and find([]) is None


def test_contacts_name_non_udp_transports() -> None:
    assert contact("bob", SipAddress("udp", "127.0.0.1", 5060)) == "sip:bob@127.0.0.1:5060"
    assert contact("bob", SipAddress("tcp", "127.0.0.1", 5070)) == (
        "sip:bob@127.0.0.1:5070;transport=tcp")
    assert contact("", SipAddress("tls", "[::1]", 5071)) == "sip:[::1]:5071;transport=tls"
    assert contact("bob", None) == "sip:bob@0.0.0.0"


def test_transport_info_and_account_uri() -> None:
    t = Transport("agent-1", "tls", "::1", 5071)
    assert t.hostport == "[::1]:5071"
    assert t.uri() == "sip:[::1]:5071;transport=tls"
    assert t.uri("alice") == "sip:alice@[::1]:5071;transport=tls"
    i = t.info()
    assert (i.is_reliable, i.is_secure, i.is_datagram, i.agent) == (True, True, False, "agent-1")
    u = Transport("agent-2", "udp", "127.0.0.1", 5060).info()
    assert (u.is_reliable, u.is_secure, u.is_datagram) == (False, False, True)
    assert u.description == "UDP 127.0.0.1:5060 on agent-2"
