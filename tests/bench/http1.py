"""A small HTTP/1.1 client for the bench's concurrent web-service run: one keep-alive connection
per sender, requests written and answers read on asyncio streams.

The bench's client shares the two cores with the system it measures. httpx spent about 1.6 ms of
CPU a request there (its connection pool, request and response models, header normalisation),
16% of everything a one-record request cost; this one spends a small part of that. It is still a
real HTTP/1.1 client, as a provider's system would be: a request line, `Host`, `Content-Length`,
persistent connections (a new one when the server closes it), answers read by their
`Content-Length` or their chunks. It knows only what the bench needs: no redirects, no TLS, no
proxies, no compression."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header's last value
    body: bytes


class Connection:
    """One persistent HTTP/1.1 connection to `url`'s host, opened at the first request and
    again after the server closed it (`Connection: close`) or a request failed. A request is never
    sent twice."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL is needed, not {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = parts.netloc.encode()
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0  # connections opened (tests: keep-alive reuses one)

    async def request(self, method: str, target: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> Answer:
        head = [f"{method} {target} HTTP/1.1".encode(), b"Host: " + self.host_header,
                b"Content-Length: " + str(len(body)).encode()]
        head += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
        message = b"\r\n".join(head) + b"\r\n\r\n" + body
        async with asyncio.timeout(self.timeout):
            try:
                return await self._exchange(message)
            except BaseException:
                await self.close()  # an answer half read leaves the connection unusable
                raise

    async def _exchange(self, message: bytes) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        assert self.reader is not None
        self.writer.write(message)
        await self.writer.drain()
        status_line = await self.reader.readuntil(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunks()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close" or version == b"HTTP/1.0":
            await self.close()
        return Answer(status, headers, body)

    async def _chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
        return b"".join(parts)

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
