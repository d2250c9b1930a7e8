"""Loopback address pools for pod IPs (127.1.0.0/16) and ClusterIPs (127.2.0.0/16).

On Linux every 127.x.y.z address can be bound without configuration, so a pool only has to hand out
distinct addresses. Addresses ending in .0 or .255 are skipped: they look like network/broadcast
addresses to humans and some tools, even inside a /16.
"""

from __future__ import annotations

import ipaddress
import threading


class PoolExhaustedError(RuntimeError):
    """Every usable address of the pool is taken."""


class AddressNotInPoolError(ValueError):
    """The address does not belong to the pool's range (or is one it never hands out)."""


class AddressPool:
    """Allocates IPv4 addresses from a CIDR, lowest free first after the last one handed out.

    Thread-safe; allocation walks forward from the previous allocation so a just-released address is not
    handed out again at once (like kube's ClusterIP allocator avoids immediate reuse).
    """

    def __init__(self, cidr: str) -> None:
        network = ipaddress.ip_network(cidr, strict=False)
        if not isinstance(network, ipaddress.IPv4Network):
            raise ValueError(f"only IPv4 ranges are supported, got {cidr!r}")
        self.network = network
        self._first = int(network.network_address)
        self._size = network.num_addresses
        self._taken: set[int] = set()
        self._cursor = 0
        self._lock = threading.Lock()
        if network.prefixlen <= 24:
            self.capacity = self._size // 256 * 254  # every /24 inside loses its .0 and .255
        else:
            self.capacity = sum(1 for o in range(self._size) if self._usable(o))
        if self.capacity == 0:
            raise ValueError(f"range {cidr} has no usable addresses")

    def __repr__(self) -> str:
        return f"AddressPool({str(self.network)!r}, used={len(self._taken)}/{self.capacity})"

    def _usable(self, offset: int) -> bool:
        if self._size > 2 and offset in (0, self._size - 1):
            return False  # network and broadcast addresses
        last_octet = (self._first + offset) & 0xFF
        return self._size <= 2 or last_octet not in (0, 255)

    def _offset(self, ip: str) -> int:
        try:
            address = ipaddress.IPv4Address(ip)
        except ipaddress.AddressValueError as exc:
            raise AddressNotInPoolError(f"{ip!r} is not an IPv4 address") from exc
        if address not in self.network:
            raise AddressNotInPoolError(f"{ip} is not in {self.network}")
        offset = int(address) - self._first
        if not self._usable(offset):
            raise AddressNotInPoolError(f"{ip} is not an allocatable address of {self.network}")
        return offset

    def allocate(self) -> str:
        """Return a free address and mark it taken; PoolExhaustedError when none is left."""
        with self._lock:
            if len(self._taken) >= self.capacity:
                raise PoolExhaustedError(f"no free address left in {self.network} ({self.capacity} in use)")
            for step in range(self._size):
                offset = (self._cursor + step) % self._size
                if offset not in self._taken and self._usable(offset):
                    self._taken.add(offset)
                    self._cursor = (offset + 1) % self._size
                    return str(ipaddress.IPv4Address(self._first + offset))
            raise PoolExhaustedError(f"no free address left in {self.network}")  # pragma: no cover

    def reserve(self, ip: str) -> None:
        """Mark a specific address taken (a requested clusterIP, or state restored after a restart).

        Raises ValueError when it is already taken, AddressNotInPoolError when it is outside the pool.
        """
        offset = self._offset(ip)
        with self._lock:
            if offset in self._taken:
                raise ValueError(f"{ip} is already allocated")
            self._taken.add(offset)

    def release(self, ip: str) -> None:
        """Return an address to the pool; releasing a free address is a no-op."""
        offset = self._offset(ip)
        with self._lock:
            self._taken.discard(offset)

    def contains(self, ip: str) -> bool:
        """True when the address is one this pool could hand out."""
        try:
            self._offset(ip)
        except AddressNotInPoolError:
            return False
        return True

    def is_allocated(self, ip: str) -> bool:
        try:
            offset = self._offset(ip)
        except AddressNotInPoolError:
            return False
        with self._lock:
            return offset in self._taken

    @property
    def used(self) -> int:
        with self._lock:
            return len(self._taken)

    @property
    def free(self) -> int:
        return self.capacity - self.used
