from __future__ import annotations

import pytest

from sandbox.network.ipam import AddressNotInPoolError, AddressPool, PoolExhaustedError


def test_allocates_distinct_addresses_skipping_zero_and_255() -> None:
    pool = AddressPool("127.1.0.0/16")
    assert pool.capacity == 256 * 254
    first = pool.allocate()
    assert first == "127.1.0.1"
    seen = {first}
    for _ in range(600):
        seen.add(pool.allocate())
    assert len(seen) == 601
    assert not any(ip.endswith((".0", ".255")) for ip in seen)
    assert pool.used == 601


def test_reserve_release_and_errors() -> None:
    pool = AddressPool("127.2.0.0/30")  # .1 and .2 usable
    assert pool.capacity == 2
    pool.reserve("127.2.0.2")
    with pytest.raises(ValueError, match="already allocated"):
        pool.reserve("127.2.0.2")
    with pytest.raises(AddressNotInPoolError):
        pool.reserve("127.3.0.1")
    with pytest.raises(AddressNotInPoolError):
        pool.reserve("127.2.0.3")  # broadcast
    assert pool.allocate() == "127.2.0.1"
    with pytest.raises(PoolExhaustedError, match=r"127\.2\.0\.0/30"):
        pool.allocate()
    pool.release("127.2.0.1")
    assert not pool.is_allocated("127.2.0.1")
    assert pool.allocate() == "127.2.0.1"
    assert pool.free == 0


def test_does_not_hand_back_a_just_released_address() -> None:
    pool = AddressPool("127.2.0.0/24")
    a = pool.allocate()
    pool.release(a)
    assert pool.allocate() != a
