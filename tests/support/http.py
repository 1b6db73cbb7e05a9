"""HTTP for the tests: httpx's functions and clients, all sharing one SSL context.

httpx builds a new SSL context for every client it makes (`httpx.get` makes one per call),
loading the CA bundle each time: about 28 ms of CPU on this machine, more than most of the
requests the suite sends cost the service that answers them. The suite makes thousands, many in
`eventually` polls, so every client here shares one context instead (measured: 0.08 ms a client)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

TLS = ssl.create_default_context()


def Client(**kwargs: Any) -> httpx.Client:  # httpx's name, so call sites read the same
    return httpx.Client(verify=TLS, **kwargs)


def AsyncClient(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=TLS, **kwargs)


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url, verify=TLS, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)
