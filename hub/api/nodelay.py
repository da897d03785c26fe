"""The HTTP protocol of `hub serve`: uvicorn's own, with TCP_NODELAY on every connection.

With several workers uvicorn binds the listening socket itself as `socket(AF_INET)`, whose
`proto` is 0, and asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP. The
accepted connections then run with Nagle's algorithm on: a response goes out as two writes
(head, then body), the second waits for the client's ACK of the first, and the client delays
that ACK: every keep-alive request with two or more workers waits out the client's delayed-ACK
timer, which this protocol removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (httptools when installed, else h11), Nagle off."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # closed already: the protocol handles it
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
