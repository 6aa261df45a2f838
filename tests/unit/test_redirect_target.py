"""The full target URI of a redirect, from pjsua2's printed form and the 3xx's Contacts (pure)."""

from __future__ import annotations

from agent.redirect import contacts, full_target, status_of

RESPONSE = ("SIP/2.0 302 Moved Temporarily\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\n"
            "Contact: \"Bob, B\" <sip:bob@127.0.0.1:53608;transport=udp>;q=0.5, "
            "<sip:carol@[::1]:5070>\r\n"
            "m: sip:dave@example.org:5080\r\nContent-Length: 0\r\n\r\nContact: <sip:body@x>")


def test_contacts_are_read_from_full_and_compact_headers_not_the_body() -> None:
    assert contacts(RESPONSE) == ["sip:bob@127.0.0.1:53608;transport=udp", "sip:carol@[::1]:5070",
                                  "sip:dave@example.org:5080"]


def test_full_target_matches_the_printed_uri_without_port() -> None:
    assert full_target("<sip:bob@127.0.0.1>", RESPONSE) == "sip:bob@127.0.0.1:53608;transport=udp"
    assert full_target("sip:carol@[::1]", RESPONSE) == "sip:carol@[::1]:5070"
    assert full_target("<sip:dave@EXAMPLE.org>", RESPONSE) == "sip:dave@example.org:5080"


def test_unknown_target_or_no_message_keeps_the_printed_uri() -> None:
    assert full_target("<sip:erin@127.0.0.1>", RESPONSE) == "<sip:erin@127.0.0.1>"
    assert full_target("<sip:bob@127.0.0.1>", "") == "<sip:bob@127.0.0.1>"


def test_status_of_a_response_line_only() -> None:
    assert status_of(RESPONSE) == (302, "Moved Temporarily")
    assert status_of("SIP/2.0 300\r\n\r\n") == (300, "")
    assert status_of("INVITE sip:a@b SIP/2.0\r\n") is None and status_of("") is None
