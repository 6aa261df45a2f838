"""The fork server of an embedded fleet: agents forked from a prepared parent.

An agent process started from scratch spends ~0.4 s importing Python, pjsua2, pyzmq, msgpack and
its own modules, and keeps its own copy of all of it (~12 MB of its ~19 MB unique memory). This
process imports them once, creates no Endpoint, starts no thread, freezes what it imported out
of the garbage collector's reach (``gc.freeze``, so that collections in the children do not
copy those pages), and forks each agent from that state: the children share those pages, and
an agent is ready in tens of milliseconds. Each child then starts its own Endpoint, exactly as
``python -m agent`` does (``agent.main.main``), in a session of its own (a Ctrl-C at the
terminal is for the program that started the fleet), with SIGTERM on the server's death (the
server gets it on its owner's).

The owner (``coordinator.client.forked``) speaks JSON lines: ``{"argv": [...]}`` on stdin is
answered ``{"pid": N}`` on stdout once forked; ``{"exit": N, "code": C}`` follows when agent N
ended (C as ``subprocess`` gives it: negative for a signal). Closed stdin: the server exits once
its last agent has.

Hand-written because ``multiprocessing``'s forkserver is one per Python process, outlives the
fleet that started it (with its descriptors in the owner), starts Python functions with
pickled arguments rather than a program's arguments, and gives its children neither a session
of their own nor the owner's way of reporting an exit status.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import selectors
import signal
import sys
import traceback
from typing import Any

_PR_SET_PDEATHSIG = 1


def _child(argv: list[str], closing: list[int]) -> int:
    """In the forked child: its own session and descriptors, then the agent's main."""
    for fd in closing:
        os.close(fd)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the process's own stdin, for its life
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    from agent.main import main
    try:
        return main(argv, forked=True)
    except SystemExit as exc:  # argparse's errors, and the agent's own exits
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1


def _status(wait_status: int) -> int:
    """An exit status as ``subprocess`` reports it: the exit code, or minus the signal."""
    return -os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else os.WEXITSTATUS(
        wait_status)


def serve() -> int:
    import agent.main  # noqa: F401 - the preparation: everything an agent imports
    gc.collect()
    gc.freeze()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    out = sys.stdout
    children: set[int] = set()
    buffered = b""
    reading = True

    def say(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    say({"ready": os.getpid()})
    while reading or children:
        for key, _ in sel.select():
            if key.fd == wake_r:
                os.read(wake_r, 512)
                continue
            chunk = os.read(key.fd, 65536)
            if not chunk:
                reading = False
                sel.unregister(key.fd)
                continue
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                argv = [str(a) for a in json.loads(line)["argv"]]
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _child(argv, [wake_r, wake_w, sel.fileno()])
                    finally:
                        sys.stderr.flush()
                        os._exit(code)
                children.add(pid)
                say({"pid": pid})
        while children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            say({"exit": pid, "code": _status(wait_status)})
    return 0


if __name__ == "__main__":
    from agent import exit_without_pjsua2

    exit_without_pjsua2()
    raise SystemExit(serve())
