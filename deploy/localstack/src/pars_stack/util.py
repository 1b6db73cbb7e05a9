"""Shared plumbing: progress output, ports, waiting, and the child-process base class."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def log(msg: str) -> None:
    # stderr, so `python -m pars_stack up` can print the env on stdout for scripts.
    print(f"pars-stack: {msg}", file=sys.stderr, flush=True)


def kept_secret(path: Path) -> str:
    """A random secret made once for a data directory and reused on every later run: kept in
    `path`, readable by its owner only (0600). Local secrets, not publicly known demo values, so
    that another user of a shared host has neither (review N13)."""
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    if secret:
        return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secret + "\n")
    path.chmod(0o600)  # also when it existed empty with wider permissions
    return secret


def port_taken(logged: str) -> bool:
    """Whether a server's log says a port it meant to bind was taken: Java's BindException says
    "Address already in use", uvicorn "…: address already in use"."""
    return "address already in use" in logged.lower()


def free_port() -> int:
    """An ephemeral port that is free right now (tiny race until the child binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    """Direct children, from /proc (PostgreSQL backends leave our process group via setsid)."""
    out = []
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            out.append(int(stat_path.parent.name))
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its process group and its direct children."""
    targets = _children(pid)
    for kill, target in [(os.killpg, pid), (os.kill, pid), *[(os.kill, c) for c in targets]]:
        try:
            kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    # Wait until all are gone: a new postmaster refuses to start while old backends still
    # hold the shared memory.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in [pid, *targets]):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running, i.e. neither gone nor a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_stale(pid_file: Path, token: str) -> None:
    """Kill a process group left by an earlier run that died without stopping its children.

    Only if the recorded pid still runs a command mentioning `token` (our data dir), so a
    recycled pid of some unrelated process is never touched.
    """
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return
    if token in cmdline:
        log(f"killing leftover process {pid} from an earlier run")
        kill_tree(pid)
    pid_file.unlink(missing_ok=True)


class Component:
    """One local server run as a child process in its own process group.

    Subclasses give the command line and a readiness check; this class does the rest:
    pid file (to clean up after a crashed parent), log file, graceful stop, SIGKILL, restart.
    """

    name = "component"
    external = False
    stop_signal = signal.SIGTERM
    stop_timeout = 30.0
    start_timeout = 90.0

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.log_file = self.root / f"{self.name}.log"
        self._proc: subprocess.Popen | None = None
        self._log_sizes: dict[Path, int] = {}
        self._atexit_registered = False

    # -- for subclasses: setup before each spawn (idempotent), command, ports, readiness --
    def _prepare(self) -> None:
        pass

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ports(self) -> list[int]:
        return []

    def _ready(self) -> bool:
        return all(port_open(p) for p in self._ports())

    def _after_ready(self) -> None:
        pass

    def _popen_extra(self) -> dict:
        return {}

    # -- public API ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def peak_rss_mb(self) -> float | None:
        """The process's peak resident memory so far (Linux VmHWM), None when it is not running."""
        if self.pid is None:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        kilobytes = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)
        return None if kilobytes is None else kilobytes / 1024

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it (Stack spawns all, then waits for all)."""
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        pid_file = self.root / f"{self.name}.pid"
        kill_stale(pid_file, str(self.root))
        for port in self._ports():
            if port_open(port):
                raise RuntimeError(f"{self.name}: port {port} is already in use")
        self._prepare()
        self._log_sizes = {path: path.stat().st_size if path.exists() else 0 for path in self._logs()}
        cmd = self._command()
        # If we die without running atexit (SIGKILL, unhandled SIGTERM), the kernel sends the
        # child our stop signal. Only from the main thread: the signal fires when the *thread*
        # that forked exits, which would kill servers started from a short-lived worker thread.
        if threading.current_thread() is threading.main_thread() and shutil.which("setpriv"):
            cmd = ["setpriv", "--pdeathsig", self.stop_signal.name[3:], *cmd]
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.root, start_new_session=True, **self._popen_extra(),
            )
        pid_file.write_text(str(self._proc.pid))
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

    def _logs(self) -> list[Path]:
        """Where the process writes; their tails explain a failed start."""
        return [self.log_file]

    def _logged_since_spawn(self) -> str:
        text = []
        for path in self._logs():
            try:
                with open(path, "rb") as f:
                    f.seek(self._log_sizes.get(path, 0))
                    text.append(f.read().decode(errors="replace"))
            except OSError:
                pass
        return "\n".join(text)

    def _new_ports(self) -> bool:
        """Picks other free ports when this component chose its own; False when they were given."""
        return False

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        port_retries = 3
        while not self._ready():
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                logs = "\n".join(f"{path}:\n{tail(path)}" for path in self._logs())
                # A port found free may be taken (by another process's outgoing connection, say)
                # before the server binds it: a start on other ports is the cure.
                if port_retries and port_taken(self._logged_since_spawn()) and self._new_ports():
                    port_retries -= 1
                    log(f"{self.name}: a port was taken before it could bind; starting on other ports")
                    self._proc = None
                    self.spawn()
                    continue
                raise RuntimeError(f"{self.name} exited (code {code}); logs:\n{logs}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} not ready after {self.start_timeout:.0f}s; "
                                   f"log {self.log_file}:\n{tail(self.log_file)}")
            time.sleep(0.2)
        self._after_ready()

    def stop(self) -> None:
        """Graceful: the server's own shutdown signal, SIGKILL if it takes too long."""
        if self.running:
            assert self._proc is not None
            self._proc.send_signal(self.stop_signal)
            try:
                self._proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {self.stop_timeout:.0f}s; killing it")
        self.kill()

    def kill(self) -> None:
        """SIGKILL the process and its children (postgres backends too), like a crash."""
        if self._proc is not None:
            if self._proc.poll() is None:  # not reaped yet, so the pid cannot be recycled
                kill_tree(self._proc.pid)
            self._proc.wait()
            self._proc = None
        (self.root / f"{self.name}.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()
