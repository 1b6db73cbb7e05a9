"""A port found free can be taken before a server binds it (another process's outgoing connection,
say): the launcher starts the server again on other ports, when it chose them itself."""

from __future__ import annotations

from pathlib import Path

from pars_stack.services import ServiceProcess
from pars_stack.util import port_taken


def test_both_servers_messages_for_a_taken_port_are_recognised() -> None:
    assert port_taken("java.net.BindException: Address already in use")
    assert port_taken("ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 33399): "
                      "address already in use")  # uvicorn's (a CI run failed on it being missed)
    assert not port_taken('{"event": "service started"}')


def test_an_instance_that_chose_its_ports_takes_others_and_says_so_in_its_environment(tmp_path: Path) -> None:
    chosen = ServiceProcess(tmp_path, "intake", {"HTTP_PORT": "1", "OPS_PORT": "2"}, instance=2)
    before = (chosen.port, chosen.ops_port)
    assert chosen._new_ports()
    assert (chosen.port, chosen.ops_port) != before
    assert (chosen.env["HTTP_PORT"], chosen.env["OPS_PORT"]) == (str(chosen.port), str(chosen.ops_port))
    assert chosen.url.endswith(f":{chosen.port}")


def test_ports_other_processes_were_told_are_kept(tmp_path: Path) -> None:
    given = ServiceProcess(tmp_path, "validator", {}, port=18001, ops_port=18002)
    assert not given._new_ports()
    assert (given.port, given.ops_port) == (18001, 18002)
