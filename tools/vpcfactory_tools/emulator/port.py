"""The served emulator's listening socket, bound first (stdlib only: `vpcfactory emulator` says a
port is in use before it loads moto, which takes seconds)."""

from __future__ import annotations

import errno
import socket


class PortUnavailable(Exception):
    """The emulator cannot listen on the port it was given."""

    def __init__(self, port: int, message: str) -> None:
        super().__init__(message)
        self.port = port


class PortInUse(PortUnavailable):
    def __init__(self, port: int) -> None:
        super().__init__(
            port,
            f"port {port} is in use (another `vpcfactory emulator`, or another program: "
            f"`ss -ltnp 'sport = :{port}'` shows which); choose another with --port, or --port 0 for any free one",
        )


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port (0: any free port), or PortInUse / PortUnavailable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug: TIME_WAIT is no conflict
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(port) from None
        raise PortUnavailable(port, f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    except OverflowError:  # a port outside 0-65535
        sock.close()
        raise PortUnavailable(port, f"--port {port}: a port is a number from 0 to 65535") from None
    return sock
