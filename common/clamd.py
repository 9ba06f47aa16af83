"""A small client of ClamAV's daemon (clamd): a file streamed to it with the INSTREAM command, its verdict back.

The address is "unix:/run/clamav/clamd.ctl" or "tcp:127.0.0.1:3310". The protocol (clamd(8)): the command
"zINSTREAM\\0", then the file in chunks each preceded by its length (4 bytes, big-endian), a zero length to end; the
answer "stream: OK", "stream: <signature> FOUND" or "... ERROR" ends with a NUL. Forty lines of our own instead of
the `clamd` package, unmaintained since 2014."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

CHUNK = 64 * 1024


class ScanUnavailable(Exception):
    """clamd could not be reached, took too long, or answered something that is not a verdict."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""   # what was found, when not clean


def _connect(address: str, timeout: float) -> socket.socket:
    kind, _, where = address.partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = where
    elif kind == "tcp":
        host, _, port = where.rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    else:
        raise ScanUnavailable(f"unknown clamd address {address!r} (unix:/path or tcp:host:port)")
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError as exc:
        sock.close()
        raise ScanUnavailable(f"clamd at {address} cannot be reached ({exc})") from exc
    return sock


def scan(address: str, handle, timeout: float = 30.0) -> Verdict:
    """Stream the file `handle` (read from its current position to its end) to clamd at `address`."""
    sock = _connect(address, timeout)
    try:
        sock.sendall(b"zINSTREAM\0")
        while chunk := handle.read(CHUNK):
            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
        sock.sendall(struct.pack("!L", 0))
        answer = b""
        while not answer.endswith(b"\0"):
            part = sock.recv(4096)
            if not part:
                break
            answer += part
    except OSError as exc:   # a timeout too (socket.timeout is an OSError)
        raise ScanUnavailable(f"clamd at {address} did not answer ({type(exc).__name__}: {exc})") from exc
    finally:
        sock.close()
    text = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith(" FOUND"):
        return Verdict(False, text.removeprefix("stream:").removesuffix(" FOUND").strip())
    if text.endswith(" OK"):
        return Verdict(True)
    raise ScanUnavailable(f"clamd at {address} answered {text[:200]!r}")
