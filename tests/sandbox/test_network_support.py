"""Shared by the test_network_* modules (holds no tests): tiny TCP backends on their own loopback addresses."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class Backend:
    ip: str
    port: int
    server: asyncio.Server


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    ip = writer.get_extra_info("sockname")[0]
    try:
        while line := await reader.readline():
            if line == b"who\n":
                writer.write(f"{ip}\n".encode())
            elif line == b"sink\n":
                # Read until the client half-closes, then answer: proves EOF passes through the proxy.
                n = 0
                while chunk := await reader.read(1 << 16):
                    n += len(chunk)
                writer.write(f"{ip} {n}\n".encode())
                break
            else:
                break  # anything else (an HTTP request, say) gets the connection closed
            await writer.drain()
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def loopback_block(first_octets: str) -> str:
    """A random /24 under `first_octets` (e.g. "127.1"), so concurrent test runs rarely share addresses."""
    return f"{first_octets}.{random.randint(100, 250)}"


@asynccontextmanager
async def backends(count: int, block: str | None = None) -> AsyncIterator[list[Backend]]:
    block = block or loopback_block("127.1")
    started = []
    try:
        for i in range(1, count + 1):
            server = await asyncio.start_server(_serve, f"{block}.{i}", 0)
            port = server.sockets[0].getsockname()[1]
            started.append(Backend(f"{block}.{i}", port, server))
        yield started
    finally:
        for b in started:
            b.server.close()


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


async def ask(ip: str, port: int, line: bytes = b"who\n") -> str:
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        writer.write(line)
        answer = await asyncio.wait_for(reader.readline(), 5)
        return answer.decode().strip()
    finally:
        writer.close()
