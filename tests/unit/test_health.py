"""agent.health: when leaked bridge ports or sockets make an agent drain (pure)."""

from __future__ import annotations

from agent.health import BRIDGE_LEAK_LIMIT, BRIDGE_LEAK_URGENT, Figures, Watch, process_figures


def fig(used: int = 1, expected: int = 1, sockets: int = 2, expected_sockets: int = 2) -> Figures:
    return Figures(bridge_used=used, bridge_max=128, expected_ports=expected, sockets=sockets,
                   expected_sockets=expected_sockets, fds=12, rss_kb=40000)


def test_leaks_are_what_live_objects_do_not_explain() -> None:
    f = fig(used=10, expected=5, sockets=12, expected_sockets=10)
    assert (f.leaked_ports, f.leaked_sockets) == (5, 2)
    assert fig(used=3, expected=5).leaked_ports == 0
    assert f.wire() == {"bridge_used": 10, "bridge_max": 128, "bridge_leaked": 5, "sockets": 12,
                        "sockets_leaked": 2, "fds": 12, "rss_kb": 40000}


def test_a_healthy_agent_never_drains() -> None:
    w = Watch()
    assert all(w.why(fig(used=1 + n % 5, expected=1 + n % 5)) == "" for n in range(100))


def test_a_leak_past_the_limit_drains_on_the_second_reading() -> None:
    w = Watch()
    leak = fig(used=1 + BRIDGE_LEAK_LIMIT, expected=1)
    assert w.why(leak) == ""
    assert w.why(leak) == f"{BRIDGE_LEAK_LIMIT} of 128 conference bridge ports leaked"


def test_a_passing_peak_resets_the_count() -> None:
    w = Watch()
    leak = fig(used=1 + BRIDGE_LEAK_LIMIT, expected=1)
    assert [w.why(x) for x in (leak, fig(), leak, fig())] == ["", "", "", ""]


def test_near_exhaustion_drains_at_once() -> None:
    assert "ports leaked" in Watch().why(fig(used=1 + BRIDGE_LEAK_URGENT, expected=1))


def test_leaked_sockets_drain_too() -> None:
    w = Watch()
    leak = fig(sockets=40, expected_sockets=20)
    assert w.why(leak) == "" and w.why(leak) == "20 sockets leaked (40 open)"


def test_process_figures_read_this_process() -> None:
    sockets, fds, rss_kb = process_figures()
    assert fds >= 3 and 0 <= sockets <= fds and rss_kb > 1000
