"""Faults of the network for the chaos runs (issue 26): partitions, resets and slow links between
one service instance and the servers it reaches (the brokers, PostgreSQL, SMTP), while both sides
keep running.

Each instance (or broker) placed on the network (`Network.place`) runs under a group id of the operating system
of its own (it is restarted once with it); the run's rules live in iptables chains of its own,
jumped to from OUTPUT and removed at `close`. Every rule matches the instance's group
(`-m owner --gid-owner`), so nothing else on the machine is touched:

- cut: the instance's packets to the given ports are dropped; both ways also drops the servers'
  packets on the instance's connections (marked by connmark when the instance sends), so a
  connection already open goes silent from both ends, as behind a failed switch;
- reset: the instance's connections to the ports are refused with a TCP reset;
- lose answers: SMTP sessions redirected the same way to a proxy that drops the connection once
  the message's final dot has gone to the server, before the server's answer comes back;
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
import re
import socket
import struct
import subprocess
import threading
import time
from collections import Counter
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


class TransparentProxy:
    """A TCP proxy on 127.0.0.1 for connections redirected to it (nat REDIRECT): each goes on to
    its original destination (SO_ORIGINAL_DST), through `_relay`. Runs its own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=type(self).__name__, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def start(self) -> int:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop).result(10)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = writer.get_extra_info("socket").getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, host = struct.unpack("!H", raw[2:4])[0], socket.inet_ntoa(raw[4:8])
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        with contextlib.suppress(Exception):
            await self._relay(reader, writer, up_reader, up_writer)
        for w in (writer, up_writer):
            self.writers.discard(w)
            w.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        async def close() -> None:
            assert self.server is not None
            self.server.close()
            for w in list(self.writers):
                w.transport.abort()
            # Their connections aborted, the relays end on their own: let them, before the loop stops.
            relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if relays:
                await asyncio.wait(relays, timeout=5)
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class SlowProxy(TransparentProxy):
    """Each chunk is delivered `delay` seconds after it arrived, in order, each way; `rate` (bytes a
    second, each way per connection) limits the bandwidth."""

    def __init__(self, delay: float, rate: float | None = None) -> None:
        super().__init__()
        self.delay, self.rate = delay, rate

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

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


class LostAnswerProxy(TransparentProxy):
    """SMTP whose answer to a message is lost: once the client has sent the dot that ends DATA (the
    server then has the message), the connection is dropped instead of passing the server's answer
    on, for the next `times` messages. `lost` counts them by Message-ID: the client, having no
    answer, must send the message again (RFC 5321), and the same Message-ID tells the copies apart
    from a real duplicate."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times
        self.lost: Counter[str] = Counter()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        ended: list[str] = []  # the Message-ID of a message whose dot went to the server

        async def to_server() -> None:
            sent = b""
            while data := await reader.read(65536):
                sent += data
                start = sent.find(b"\r\nDATA\r\n")
                end = sent.find(b"\r\n.\r\n", start + 1) if start >= 0 else -1
                if end >= 0:
                    if sum(self.lost.values()) < self.times:
                        found = re.search(rb"^Message-ID:\s*(\S+)", sent[start:end], re.IGNORECASE | re.MULTILINE)
                        ended.append(found.group(1).decode() if found else "?")
                    sent = sent[end:]
                up_writer.write(data)
                await up_writer.drain()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if ended:  # the server's answer to the dot: lost with the connection
                    self.lost[ended.pop()] += 1
                    writer.transport.abort()
                    up_writer.transport.abort()
                    return
                writer.write(data)
                await writer.drain()

        await asyncio.gather(to_server(), to_client())


@dataclass
class Edge:
    """One placed instance: its group id, and the rules now in force on it."""

    name: str
    gid: int
    rules: list[tuple[str, list[str]]] = field(default_factory=list)  # (table, rule)
    proxies: list[TransparentProxy] = field(default_factory=list)


class Network:
    def __init__(self, tag: str, first_gid: int | None = None) -> None:
        self.chain = f"PARS-NET-{tag}"[:28]
        self.first_gid = first_gid or 61000 + random.SystemRandom().randrange(0, 4000, 16)
        self.edges: dict[str, Edge] = {}
        for table in ("filter", "nat"):
            iptables("-N", self.chain, table=table)
            iptables("-I", "OUTPUT", "-j", self.chain, table=table)

    def place(self, service: Any) -> Edge:
        """Restarts the part (a pars_stack service instance or Kafka node) under a group id of its own."""
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

    def lose_answers(self, name: str, ports: Iterable[int], times: int) -> LostAnswerProxy:
        """The instance's new SMTP sessions to the ports lose the server's answer to the next
        `times` messages (the server keeps them)."""
        edge = self.edges[name]
        proxy = LostAnswerProxy(times)
        edge.proxies.append(proxy)
        self._add(edge, ["-m", "owner", "--gid-owner", str(edge.gid), *ports_rule(ports), "-j", "REDIRECT",
                         "--to-ports", str(proxy.start())], table="nat")
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
