"""Faults of the network for the chaos runs (issue 26): partitions, resets and slow links between
one service instance and the servers it reaches (the brokers, PostgreSQL, SMTP), while both sides
keep running.

Each instance placed on the network (`Network.place`) runs under a group id of the operating system
of its own (it is restarted once with it); the run's rules live in iptables chains of its own,
jumped to from OUTPUT and removed at `close`. Every rule matches the instance's group
(`-m owner --gid-owner`), so nothing else on the machine is touched:

- cut: the instance's packets to the given ports are dropped; both ways also drops the servers'
  packets on the instance's connections (marked by connmark when the instance sends), so a
  connection already open goes silent from both ends, as behind a failed switch;
- reset: the instance's connections to the ports are refused with a TCP reset;
- slow: the instance's new connections to the ports are redirected (nat REDIRECT) to a proxy in
  this process that forwards to the original destination (SO_ORIGINAL_DST) with a delay each way
  and optionally a rate limit; its open connections are reset so that they reconnect through it.
  A userspace proxy because this kernel has no `tc netem`; a transparent one so that brokers
  need not advertise the proxy's address.

The harness (tests/chaos/harness.py, `network_faults`) draws which instance each fault hits and
for how long from a seed, prints the schedule, and gives the same one for the same seed."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h
CONNMARK_BASE = 0x2600


def iptables(*args: str, table: str = "filter", check: bool = True) -> bool:
    done = subprocess.run(["iptables", "-w", "5", "-t", table, *args], capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise RuntimeError(f"iptables -t {table} {' '.join(args)}: {done.stderr.strip()}")
    return done.returncode == 0


def ports_rule(ports: Iterable[int]) -> list[str]:
    return ["-p", "tcp", "-m", "multiport", "--dports", ",".join(str(p) for p in sorted(set(ports)))]


class SlowProxy:
    """A transparent TCP proxy on 127.0.0.1: each chunk is delivered `delay` seconds after it
    arrived, in order, each way; `rate` (bytes a second, each way per connection) limits the
    bandwidth. Runs its own event loop in a thread."""

    def __init__(self, delay: float, rate: float | None = None) -> None:
        self.delay, self.rate = delay, rate
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="slow-proxy", daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def start(self) -> int:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop).result(10)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, host = struct.unpack("!H", raw[2:4])[0], socket.inet_ntoa(raw[4:8])
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            self.writers.discard(w)
            w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()
                if self.rate:
                    await asyncio.sleep(len(data) / self.rate)
            with contextlib.suppress(OSError):
                writer.write_eof()

        delivering = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((time.monotonic() + self.delay, data))
        finally:
            queue.put_nowait((0.0, b""))
            await delivering

    def stop(self) -> None:
        async def close() -> None:
            assert self.server is not None
            self.server.close()
            for w in list(self.writers):
                w.transport.abort()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Edge:
    """One placed instance: its group id, and the rules now in force on it."""

    name: str
    gid: int
    rules: list[tuple[str, list[str]]] = field(default_factory=list)  # (table, rule)
    proxies: list[SlowProxy] = field(default_factory=list)


class Network:
    def __init__(self, tag: str, first_gid: int | None = None) -> None:
        self.chain = f"PARS-NET-{tag}"[:28]
        self.first_gid = first_gid or 61000 + random.SystemRandom().randrange(0, 4000, 16)
        self.edges: dict[str, Edge] = {}
        for table in ("filter", "nat"):
            iptables("-N", self.chain, table=table)
            iptables("-I", "OUTPUT", "-j", self.chain, table=table)

    def place(self, service: Any) -> Edge:
        """Restarts the instance (a pars_stack ServiceProcess) under a group id of its own."""
        edge = Edge(service.name, self.first_gid + len(self.edges))
        self.edges[service.name] = edge
        extra = service._popen_extra
        service._popen_extra = lambda: {**extra(), "group": edge.gid, "extra_groups": []}
        service.stop()
        service.start()
        mark = hex(CONNMARK_BASE + len(self.edges))
        # Every connection the instance opens carries its mark (for the servers' half of a cut).
        iptables("-A", self.chain, "-m", "owner", "--gid-owner", str(edge.gid), "-j", "CONNMARK",
                 "--set-mark", mark)
        edge.rules.append(("mark", [mark]))
        return edge

    def _mark(self, edge: Edge) -> str:
        return next(r[0] for t, r in edge.rules if t == "mark")

    def _add(self, edge: Edge, rule: list[str], table: str = "filter") -> None:
        iptables("-I", self.chain, "1", *rule, table=table)  # before the marking rule: first match
        edge.rules.append((table, rule))

    def cut(self, name: str, ports: Iterable[int], both_ways: bool = True) -> None:
        edge, ports = self.edges[name], list(ports)
        self._add(edge, ["-m", "owner", "--gid-owner", str(edge.gid), *ports_rule(ports), "-j", "DROP"])
        if both_ways:
            self._add(edge, ["-m", "connmark", "--mark", self._mark(edge), "-p", "tcp", "-m", "multiport",
                             "--sports", ",".join(str(p) for p in sorted(set(ports))), "-j", "DROP"])

    def reset(self, name: str, ports: Iterable[int]) -> None:
        edge = self.edges[name]
        self._add(edge, ["-m", "owner", "--gid-owner", str(edge.gid), *ports_rule(ports), "-j", "REJECT",
                         "--reject-with", "tcp-reset"])

    def slow(self, name: str, ports: Iterable[int], delay: float, rate: float | None = None) -> SlowProxy:
        edge, ports = self.edges[name], list(ports)
        proxy = SlowProxy(delay, rate)
        edge.proxies.append(proxy)
        port = proxy.start()
        self._add(edge, ["-m", "owner", "--gid-owner", str(edge.gid), *ports_rule(ports), "-j", "REDIRECT",
                         "--to-ports", str(port)], table="nat")
        self.reset(name, ports)  # the open direct connections (the redirected ones go to the proxy's port)
        return proxy

    def heal(self, name: str) -> None:
        edge = self.edges[name]
        for table, rule in [r for r in edge.rules if r[0] != "mark"]:
            iptables("-D", self.chain, *rule, table=table, check=False)
        edge.rules = [r for r in edge.rules if r[0] == "mark"]
        for proxy in edge.proxies:
            proxy.stop()  # its connections close: the instance reconnects directly
        edge.proxies = []

    def close(self) -> None:
        for name in self.edges:
            with contextlib.suppress(Exception):
                self.heal(name)
        for table in ("filter", "nat"):
            iptables("-D", "OUTPUT", "-j", self.chain, table=table, check=False)
            iptables("-F", self.chain, table=table, check=False)
            iptables("-X", self.chain, table=table, check=False)
