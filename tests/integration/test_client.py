"""The Python client: thread safety, the callback thread and auto_lock, Error's fields."""

from __future__ import annotations

import threading

import pytest

from coordinator.client import AccountCallback, Call, Error, Lib
from tests.helpers import Recorder, wait_for


def test_many_threads_each_get_their_own_reply(lib: Lib) -> None:
    accounts: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            made = [lib.create_account(f"sip:user{n}x{k}@127.0.0.1") for k in range(2)]
            accounts[n] = [a.uri for a in made]
            for a in made:
                assert lib.request("lib.status")["accounts"] >= 1
                a.delete()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert accounts == {n: [f"sip:user{n}x{k}@127.0.0.1" for k in range(2)] for n in range(8)}
    assert lib.status()["accounts"] == 0


def test_accounts_beyond_pjsua_max_acc_are_refused_not_fatal(lib: Lib) -> None:
    # PJSUA_MAX_ACC is 8 in the wheel: the 9th account would abort an agent
    made = [lib.create_account(f"sip:u{k}@127.0.0.1") for k in range(16)]
    assert sorted(a["accounts"] for a in lib.agents()) == [8, 8]
    with pytest.raises(Error) as exc:
        lib.create_account("sip:one-too-many@127.0.0.1")
    assert exc.value.err_code == "E_NO_CAPACITY"
    made[0].delete()
    wait_for(lambda: sorted(a["accounts"] for a in lib.agents()) == [7, 8], 5, "a freed slot")
    again = lib.create_account("sip:fits-again@127.0.0.1")
    assert again.agent == made[0].agent
    assert len(lib.agents()) == 2


def test_callbacks_run_on_the_client_thread_under_auto_lock(lib: Lib) -> None:
    seen: list[str] = []

    class Acc(AccountCallback):
        def on_incoming_call(self, call: Call) -> None:
            seen.append(threading.current_thread().name)
            # a blocking op from inside a callback works
            seen.append(call.info(refresh=True).role)

    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=Acc(), auto_answer=200)
    out = Recorder()
    lock = lib.auto_lock()
    call = alice.make_call(bob.contact, cb=out)
    # while the lock is held, no callback runs, though the call proceeds in the fleet
    wait_for(lambda: call.info(refresh=True).state == "CONFIRMED", 10, "the call to connect")
    assert seen == [] and out.names() == []
    lock.release()
    wait_for(lambda: out.reached("CONFIRMED"), 10, "callbacks after release")
    assert seen == ["callfleet-callbacks", "callee"]
    with lib.auto_lock():
        call.hangup()
        assert out.last() == "CONFIRMED"  # DISCONNECTED waits for the lock
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "call end")


def test_error_carries_object_operation_code_and_message(lib: Lib) -> None:
    with pytest.raises(Error) as exc:
        lib.create_account("not-a-uri")
    e = exc.value
    assert (e.op_name, e.err_code) == ("acc.create", "E_BAD_ARGS")
    assert "sip" in e.err_msg and e.obj_name
    assert "E_BAD_ARGS" in str(e)


def test_connect_to_nothing_times_out() -> None:
    with pytest.raises(Error) as exc:
        Lib.connect("tcp://127.0.0.1:9", timeout=0.5)
    assert exc.value.err_code == "E_TIMEOUT"


def test_lib_agents_describes_the_fleet(lib: Lib) -> None:
    agents = lib.agents()
    assert len(agents) == 2
    for a in agents:
        assert a["capacity"] == 4 and a["calls"] == 0 and a["free"] == 4
        assert a["pjsip"].startswith("2.15")
        assert a["sip"][0].startswith("udp:127.0.0.1:")
        assert a["alive"] is True


def test_lib_agents_pages_by_name(lib3: Lib) -> None:
    """Pages of one agent, each naming the next, list the fleet once in name order, as the
    client's agents() and lib.status do; bad page arguments are one clear error each."""
    names = sorted(a["name"] for a in lib3.status()["agents"])
    assert len(names) == 3 and lib3.status()["agents_total"] == 3
    assert [a["name"] for a in lib3.agents()] == names
    pages, args = [], {"limit": 1}
    while True:
        page = lib3.request("lib.agents", args)
        assert page["total"] == 3
        pages.append([a["name"] for a in page["agents"]])
        if "next" not in page:
            break
        args = {"limit": 1, "after": page["next"]}
    assert pages == [[n] for n in names]
    assert lib3.request("lib.agents", {"after": names[1]})["agents"][0]["name"] == names[2]
    assert lib3.request("lib.agents", {"after": names[2]}) == {"agents": [], "total": 3}
    for bad, why in (({"limit": 0}, "'limit' must be >= 1"), ({"limit": "2"}, "must be int"),
                     ({"after": 7}, "'after' must be str"), ({"limit": 1001}, "<= 1000")):
        with pytest.raises(Error) as err:
            lib3.request("lib.agents", bad)
        assert err.value.err_code == "E_BAD_ARGS" and why in err.value.err_msg, (bad, err.value)


def test_a_call_the_fleet_no_longer_knows_is_disconnected_on_refresh(lib: Lib) -> None:
    """A Call whose end never reached this client (lost with a coordinator, say): refreshing
    its info finds it gone, and its callback hears DISCONNECTED once, as from its event."""
    alice = lib.create_account("sip:alice@127.0.0.1")
    out = Recorder()
    ghost = Call(lib, "c-that-ended-unheard", alice, role="caller")
    ghost.set_callback(out)
    lib.session.calls[ghost.id] = ghost
    assert ghost.info(refresh=True).state == "DISCONNECTED"
    wait_for(lambda: out.last() == "DISCONNECTED", 5, "the callback told")
    assert not ghost.is_valid() and ghost.id not in lib.session.calls
    assert out.names() == ["DISCONNECTED"]
