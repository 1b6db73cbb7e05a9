"""CPU time each part of the system spends while `make bench` measures a rate.

On a machine whose cores are all busy, a path's rate is the CPU it has divided by the CPU each
message costs. So the benchmark prints, for the floor and for the stream, what every process
(and its children: PostgreSQL's backends) spent per message over the measured window. That tells
where a figure is held: a target rate is a CPU budget per message, and the table shows which
parts spend it."""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass
class CpuMeter:
    """`parts`: a name for each root process id (its children count as the part's)."""

    parts: dict[str, int]
    _start: dict[int, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, dict[int, float]]:
        trees = {name: _process_tree(pid) for name, pid in self.parts.items()}
        # A process counts once, for the nearest part: the smallest tree that holds it (the
        # services, the broker and PostgreSQL are children of the bench process, which keeps only
        # what is its own).
        owner: dict[int, str] = {}
        for name, tree in sorted(trees.items(), key=lambda item: -len(item[1])):
            owner.update((process.pid, name) for process in tree)
        sampled: dict[str, dict[int, float]] = {name: {} for name in self.parts}
        for name, tree in trees.items():
            for process in tree:
                if owner[process.pid] != name:
                    continue
                try:
                    used = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue  # exited between the listing and the reading
                sampled[name][process.pid] = used.user + used.system
        return sampled

    def start(self) -> None:
        self._start = {pid: used for times in self._sample().values() for pid, used in times.items()}

    def seconds(self) -> dict[str, float]:
        """CPU seconds per part since `start`. A process started since then counts from zero;
        one that exited since then is missing (PostgreSQL backends live as long as their pool)."""
        return {name: sum(used - self._start.get(pid, 0.0) for pid, used in times.items())
                for name, times in self._sample().items()}


def per_message(cpu: dict[str, float], messages: int) -> str:
    """'intake 350, validator 300, ... = 1,700 µs' (CPU microseconds per message), largest first."""
    if messages <= 0:
        return "no message came through"
    spent = sorted(((used / messages * 1e6, name) for name, used in cpu.items()), reverse=True)
    parts = ", ".join(f"{name} {micros:,.0f}" for micros, name in spent if micros >= 0.5)
    return f"{parts} = {sum(m for m, _ in spent):,.0f} µs"
