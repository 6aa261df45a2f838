"""Every numeric limit of the wire, in one place."""

from __future__ import annotations

#: Protocol version carried in every message's ``v`` field.
VERSION = 1

#: Largest accepted frame (one msgpack map), in bytes. ZeroMQ's MAXMSGSIZE is set to it too.
MAX_FRAME = 1 << 20
#: Longest string anywhere inside a message, in bytes/characters.
MAX_STR = 8192
#: Longest array anywhere inside a message.
MAX_ARRAY = 4096
#: Most keys in any map inside a message.
MAX_MAP = 256
#: Deepest nesting of maps/arrays (the envelope itself is depth 1).
MAX_DEPTH = 8
#: Longest request id and object id.
MAX_ID = 64
#: Longest agent name: ids made from it (an incoming call's ``NAME:TAG.inN``) stay within MAX_ID.
MAX_AGENT_NAME = 40
#: Most agents in one lib.agents page (its default page), and in lib.status's list: a page of
#: this many stays well within MAX_FRAME (about 250 bytes an agent).
AGENTS_PAGE = 1000
#: Longest op name.
MAX_OP = 64
#: Most extra SIP headers on one request.
MAX_HEADERS = 32

#: Most extra SDP attributes of an account (sdp_attrs), and the longest one.
MAX_SDP_ATTRS = 8
MAX_SDP_ATTR = 200

#: Most DTMF digits in one call.dial_dtmf.
MAX_DTMF = 64

#: Longest SIP message PJSIP sends or receives, in bytes (PJSIP_MAX_PKT_LEN of the pjsua2 wheel,
#: over UDP and TCP alike): a request that would be longer is refused with E_BAD_ARGS.
MAX_SIP_MESSAGE = 4000
#: Longest instant message body (acc.send_pager, call.send_pager), in characters: with the usual
#: headers it fits in MAX_SIP_MESSAGE (a MESSAGE that still does not, with long URIs, many extra
#: headers or non-ASCII text, is refused with E_BAD_ARGS; nothing is sent).
MAX_PAGER = 3000

#: Heartbeat period, both ways, seconds.
HEARTBEAT_S = 1.0
#: Missed heartbeats after which a peer is declared lost.
HEARTBEAT_MISSES = 3
#: The same when agents are on other hosts (the coordinator's agents socket is not loopback).
HEARTBEAT_MISSES_REMOTE = 5

#: Most event subscriptions (events.subscribe) one client connection may hold at once.
MAX_SUBSCRIPTIONS = 16
#: Most entries in one list of a subscription filter (events, accounts, calls, runs).
MAX_FILTER_ITEMS = 64
#: Most accounts, and most calls, listed in the snapshot of an events.subscribe reply.
MAX_SNAPSHOT = 1000

#: A client connection's lease, seconds, unless it asks for another (client.lease): when the
#: coordinator hears nothing from the connection for that long, it releases everything the
#: connection owns but its persistent objects (PROTOCOL.md section 10, Leases).
LEASE_S = 15.0
#: The shortest lease a client may ask for.
LEASE_MIN_S = 1.0
#: The longest lease a client may ask for.
LEASE_MAX_S = 3600.0
