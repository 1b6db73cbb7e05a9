"""A connection reset under uvloop must reach aiokafka as the connection error it handles.

aiokafka writes each request to its connection's transport and turns an `OSError` from the write
into `KafkaConnectionError`, which every one of its background routines handles (the fetcher logs
"Failed fetch messages", reconnects and fetches again). On uvloop, which the services run on
(service.main), writing to a transport the peer has just reset raises `RuntimeError` ("unable to
perform operation on <TCPTransport closed=True ...>; the handler is closed") instead: aiokafka
lets that through (aio-libs/aiokafka#1038, open in 0.14.0), and the routine that was sending dies.
When that is a consumer's fetcher, the consumer goes on heartbeating and holding its partitions
while fetching nothing, with no error anywhere after the one traceback: the short cluster network
chaos run once ended with 25 upstream completions never taken (docs/reliability.md).

`install()` wraps the connection's two writing methods so that this one RuntimeError, on a transport
that is closing, becomes the `KafkaConnectionError` the asyncio loop's transports would have led to
(they ignore a write after a reset, and the read side reports the loss). Nothing else changes.
Called once by `service.main` before the event loop starts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.errors import KafkaConnectionError, KafkaError

_WRITERS = ("send", "_send_sasl_token")


def _closing(connection: AIOKafkaConnection) -> bool:
    writer = getattr(connection, "_writer", None)
    return writer is None or writer.transport.is_closing()


def _reset_is_a_connection_error(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def guarded(self: AIOKafkaConnection, *args: Any, **kwargs: Any) -> Any:
        try:
            return write(self, *args, **kwargs)
        except RuntimeError as err:  # aiokafka's own errors are RuntimeErrors too: those stay as they are
            if isinstance(err, KafkaError) or not _closing(self):
                raise
            self.close(reason=CloseReason.CONNECTION_BROKEN, exc=err)
            raise KafkaConnectionError(f"Connection at {self.host}:{self.port} broken: {err}") from err

    guarded.__pars_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def install() -> None:
    """Idempotent: a second call leaves the wrapped methods as they are."""
    for name in _WRITERS:
        write = getattr(AIOKafkaConnection, name)
        if not getattr(write, "__pars_guarded__", False):
            setattr(AIOKafkaConnection, name, _reset_is_a_connection_error(write))
