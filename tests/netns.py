"""Network namespaces as "hosts" for multi-host tests: one switch namespace holding a bridge,
and one namespace per host linked to it by a veth pair. Nothing is created in the root
namespace (every link is created directly inside its namespaces), so tests running at the same
time cannot collide, and deleting the namespaces removes everything.

    switch ns:  br0 ── s-<host> (one veth end per host)
    host ns:    eth0 (the other end), 10.77.0.<n>/24, lo up

``Hosts.cut(host)`` sets the host's switch port down (its "cable" is pulled: packets both ways
are lost, the host's processes keep running); ``restore(host)`` puts it back.

``Hosts.lose(host, percent, via)`` keeps the link up but drops that share of the packets to and
from the host, until ``unlose(host)``:

* ``via="netem"``: a ``tc ... netem loss P%`` qdisc on both ends of the host's veth (the switch
  port, for packets to the host; the host's eth0, for packets from it). Needs the kernel's
  sch_netem (``modprobe sch_netem`` is tried first by ``loss_unavailable``).
* ``via="nft"``: an nftables rule on the switch's bridge drops the host's forwarded frames
  (``numgen random mod 100 < P`` for a partial loss): the same effect for kernels without
  netem. Needs the ``nft`` command (Debian package nftables).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"


def _ip(*args: str) -> None:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10,
                         stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.strip()}")


def unavailable() -> str | None:
    """Why network namespaces cannot be created here (None: they can)."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"cfprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, OSError) as exc:
        return f"network namespaces cannot be created here: {exc}"
    with contextlib.suppress(RuntimeError, OSError):
        _ip("netns", "del", probe)
    return None


def _run(argv: list[str], stdin: str | None = None) -> None:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, input=stdin,
                         stdin=None if stdin is not None else subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {(out.stderr or out.stdout).strip()}")


def _netem(ns: str, dev: str, percent: float) -> list[str]:
    return ["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "netem", "loss", f"{percent:g}%"]


def _nft_table(table: str, port: str, percent: float) -> str:
    """A bridge table dropping ``percent`` of the frames forwarded to and from ``port``."""
    draw = "" if percent >= 100 else f"numgen random mod 100 < {int(percent)} "
    return (f"table bridge {table} {{\n chain forward {{\n"
            "  type filter hook forward priority 0; policy accept;\n"
            f'  iifname "{port}" {draw}drop\n  oifname "{port}" {draw}drop\n }}\n}}\n')


def _modprobe_netem() -> str:
    """Try to load sch_netem; say what happened (the kernel may have it built in, or no modules)."""
    if shutil.which("modprobe") is None:
        return "no modprobe command"
    out = subprocess.run(["modprobe", "sch_netem"], capture_output=True, text=True, timeout=10,
                         stdin=subprocess.DEVNULL)
    return "modprobe sch_netem: " + ("ok" if out.returncode == 0 else out.stderr.strip())


def loss_unavailable(via: str) -> str | None:
    """Why ``Hosts.lose(..., via=via)`` cannot work here (None: it can), found by trying it on a
    veth pair in a throwaway namespace."""
    if unavailable() is not None:
        return unavailable()
    tool = {"netem": "tc", "nft": "nft"}[via]
    if shutil.which(tool) is None:
        return f"the `{tool}` command is not installed (Debian package " \
               f"{'iproute2' if tool == 'tc' else 'nftables'})"
    tried = _modprobe_netem() if via == "netem" else ""
    probe = f"cfloss{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, OSError) as exc:
        return f"network namespaces cannot be created here: {exc}"
    try:
        _ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1")
        if via == "netem":
            _run(_netem(probe, "p0", 50))
        else:
            _ip("-n", probe, "link", "add", "br0", "type", "bridge")
            _ip("-n", probe, "link", "set", "p0", "master", "br0")
            _run(["ip", "netns", "exec", probe, "nft", "-f", "-"],
                 _nft_table("probe", "p0", 50))
    except (RuntimeError, OSError) as exc:
        kernel = os.uname().release
        return (f"{via} packet loss does not work on this kernel ({kernel}): {exc}"
                + (f" ({tried})" if tried else ""))
    finally:
        with contextlib.suppress(RuntimeError, OSError):
            _ip("netns", "del", probe)
    return None


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run the block with the calling thread in network namespace ``ns``.

    A network namespace belongs to a thread, and threads inherit their creator's: threads and
    ZeroMQ contexts (their I/O threads) created in the block keep living in ``ns`` after it, while
    the calling thread is back in its own namespace at the end."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


class Hosts:
    """Namespaces ``<prefix>-<host>`` on one bridge; host i (from 1) has address 10.77.0.i."""

    def __init__(self, prefix: str, hosts: list[str]) -> None:
        self.prefix = prefix
        self.switch = f"{prefix}-sw"
        self.hosts = list(hosts)
        self.created: list[str] = []
        self.losing: dict[str, str] = {}

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def addr(self, host: str) -> str:
        return f"{SUBNET}.{self.hosts.index(host) + 1}"

    def create(self) -> None:
        """Build everything; on failure, whatever was built is removed."""
        try:
            for name in [self.switch] + [self.ns(h) for h in self.hosts]:
                _ip("netns", "add", name)
                self.created.append(name)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for host in self.hosts:
                port, ns = f"s-{host}", self.ns(host)
                _ip("link", "add", port, "netns", self.switch, "type", "veth",
                    "peer", "name", "eth0", "netns", ns)
                _ip("-n", self.switch, "link", "set", port, "master", "br0")
                _ip("-n", self.switch, "link", "set", port, "up")
                _ip("-n", ns, "addr", "add", f"{self.addr(host)}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.destroy()
            raise

    def destroy(self) -> None:
        """Delete every namespace created (their links go with them). Never raises."""
        for name in reversed(self.created):
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                _ip("netns", "del", name)
        self.created.clear()

    def cut(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", f"s-{host}", "down")

    def restore(self, host: str) -> None:
        _ip("-n", self.switch, "link", "set", f"s-{host}", "up")

    def lose(self, host: str, percent: float, via: str) -> None:
        """Drop ``percent`` % of the packets to and from ``host`` (its link stays up)."""
        if via == "netem":
            _run(_netem(self.switch, f"s-{host}", percent))
            _run(_netem(self.ns(host), "eth0", percent))
        else:
            _run(["ip", "netns", "exec", self.switch, "nft", "-f", "-"],
                 _nft_table(f"loss_{host}", f"s-{host}", percent))
        self.losing[host] = via

    def unlose(self, host: str) -> None:
        """Stop dropping ``host``'s packets."""
        via = self.losing.pop(host)
        if via == "netem":
            _run(["tc", "-n", self.switch, "qdisc", "del", "dev", f"s-{host}", "root"])
            _run(["tc", "-n", self.ns(host), "qdisc", "del", "dev", "eth0", "root"])
        else:
            _run(["ip", "netns", "exec", self.switch, "nft", "delete", "table", "bridge",
                  f"loss_{host}"])

    def run(self, host: str, argv: list[str]) -> list[str]:
        """``argv`` run inside ``host`` (``ip netns exec`` execs it: the pid is the program's)."""
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def udp_in(self, host: str) -> int:
        """UDP datagrams received by the host so far (its namespace's /proc/net/snmp)."""
        out = subprocess.run(self.run(host, ["cat", "/proc/net/snmp"]), capture_output=True,
                             text=True, timeout=10, check=True, stdin=subprocess.DEVNULL).stdout
        names, values = [line.split() for line in out.splitlines() if line.startswith("Udp:")]
        return int(values[names.index("InDatagrams")])
