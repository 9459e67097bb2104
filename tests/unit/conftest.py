"""Unit tests are pure (STYLE.md): no AWS, no emulator server, no network. Sockets are off: a test
that tries to connect anywhere fails at once, naming the address. (Pipes to a child process, such
as the IAM evaluator's node process, are not sockets and stay allowed.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


class SocketsAreOff(RuntimeError):
    """A unit test tried to open a network connection."""


# Per test: a session-scoped fixture here would be set up by the first unit test and torn down only
# when the whole session ends, leaving sockets off for every integration and workflow test after it.
@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    original = socket.socket.connect, socket.socket.connect_ex

    def refuse(self: socket.socket, address: object) -> None:
        if self.family == getattr(socket, "AF_UNIX", None):
            return original[0](self, address)
        raise SocketsAreOff(f"unit tests make no network calls (tried {address!r}): move the test to tests/integration")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]
