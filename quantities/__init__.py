"""Kubernetes resource quantities: apimachinery `pkg/api/resource/quantity.go`, in exact arithmetic.

Shared by the sandbox's admission (quota, limit ranges) and the quotas app. Standard library only.
A quantity keeps the format family of its input (DecimalSI `600m`, BinarySI `1536Mi`, DecimalExponent `1e3`)
and prints the canonical form Kubernetes prints.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "BINARY_SI",
    "DECIMAL_EXPONENT",
    "DECIMAL_SI",
    "Quantity",
    "QuantityError",
    "format_human",
    "parse_quantity",
]

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

ERR_FORMAT_WRONG = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
ERR_SUFFIX = "unable to parse quantity's suffix"

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_NANO = 10**9
_MAX_BINARY = Fraction(2**63 - 1)  # maxAllowed: BinarySI values are capped at int64
# Exponents this large would make exact arithmetic unbounded; Kubernetes' int32 exponent wraps anyway.
_MAX_EXPONENT = 100_000


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message is apimachinery's."""


def _interpret_suffix(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) for a suffix, as quantitySuffixer.interpret."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[:1] in ("+", "-") else digits
        if body.isdigit() and body.isascii():
            exponent = int(digits)
            if abs(exponent) <= _MAX_EXPONENT:
                return 10, exponent, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def _split(text: str) -> tuple[bool, str, str, str]:
    """parseQuantityString: (positive, numerator digits, denominator digits, suffix)."""
    pos, end, positive = 0, len(text), True
    if text[:1] == "-":
        positive, pos = False, 1
    elif text[:1] == "+":
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and "0" <= text[pos] <= "9":
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and "0" <= text[pos] <= "9":
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and "0" <= text[pos] <= "9":
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT_WRONG)
    return positive, num, denom, text[suffix_start:]


def _round_up_nano(amount: Fraction) -> Fraction:
    """Round away from zero to a whole number of nano units (the smallest representable value)."""
    scaled = abs(amount) * _NANO
    nanos = -((-scaled.numerator) // scaled.denominator)  # ceil
    result = Fraction(nanos, _NANO)
    return result if amount >= 0 else -result


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact quantity and the format family it prints in. Compares and hashes by value only."""

    amount: Fraction
    format: str = DECIMAL_SI

    # --- arithmetic: the left operand's format wins, except that zero takes the other's (Quantity.Add) ---
    def _combine(self, other: Quantity, amount: Fraction) -> Quantity:
        fmt = other.format if self.amount == 0 else self.format
        return Quantity(amount, fmt)

    def __add__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._combine(other, self.amount + other.amount)

    def __sub__(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._combine(other, self.amount - other.amount)

    def __mul__(self, factor: object) -> Quantity:
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity(self.amount * factor, self.format)

    __rmul__ = __mul__

    def __neg__(self) -> Quantity:
        return Quantity(-self.amount, self.format)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount == other.amount

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount < other.amount

    def __hash__(self) -> int:
        return hash(self.amount)

    def is_zero(self) -> bool:
        return self.amount == 0

    def sign(self) -> int:
        return (self.amount > 0) - (self.amount < 0)

    def scaled_value(self, scale: int) -> int:
        """The value in units of 10**scale, rounded away from zero (ScaledValue)."""
        scaled = abs(self.amount) / Fraction(10) ** scale
        n = -((-scaled.numerator) // scaled.denominator)
        return n if self.amount >= 0 else -n

    def value(self) -> int:
        """Value(): whole units, rounded away from zero (1.5 → 2, 100m → 1)."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """MilliValue(): thousandths, rounded away from zero (1n → 1)."""
        return self.scaled_value(-3)

    def __str__(self) -> str:
        return _canonical(self.amount, self.format)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def _canonical(amount: Fraction, fmt: str) -> str:
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if fmt == BINARY_SI:
        if magnitude < 1024 or magnitude.denominator != 1:
            fmt = DECIMAL_SI  # small or fractional binary values print as DecimalSI, never rounded
        else:
            n, power = magnitude.numerator, 0
            while n % 1024 == 0 and power < len(_BINARY_BY_POWER) - 1:
                n //= 1024
                power += 1
            return f"{sign}{n}{_BINARY_BY_POWER[power]}"
    if fmt not in (DECIMAL_SI, DECIMAL_EXPONENT):
        fmt = DECIMAL_EXPONENT
    # AsCanonicalBytes: an integer mantissa and an exponent that is a multiple of 3.
    exponent = 0
    while magnitude.denominator != 1:
        magnitude *= 10
        exponent -= 1
    mantissa = magnitude.numerator
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3 != 0:
        mantissa *= 10
        exponent -= 1
    if fmt == DECIMAL_SI and exponent in _DECIMAL_BY_EXPONENT:
        return f"{sign}{mantissa}{_DECIMAL_BY_EXPONENT[exponent]}"
    # DecimalExponent, or DecimalSI beyond E (10^18), which falls back to exponent notation.
    return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")


def parse_quantity(value: str | int | float) -> Quantity:
    """ParseQuantity: the exact value (rounded up to 1n) and the format family of the input."""
    if isinstance(value, bool):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(value, int):
        return Quantity(Fraction(value), DECIMAL_SI)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError(ERR_FORMAT_WRONG)
        value = repr(value)
    if not isinstance(value, str) or not value:
        raise QuantityError(ERR_FORMAT_WRONG)
    if value == "0":
        return Quantity(Fraction(0), DECIMAL_SI)
    positive, num, denom, suffix = _split(value)
    base, exponent, fmt = _interpret_suffix(suffix)
    amount = Fraction(int(num + denom), 10 ** len(denom))
    amount *= Fraction(base) ** exponent
    amount = _round_up_nano(amount)
    if fmt == BINARY_SI:
        amount = min(amount, _MAX_BINARY)
        if 0 < amount < 1:
            fmt = DECIMAL_SI
    return Quantity(amount if positive else -amount, fmt)


# --- UI text -----------------------------------------------------------------------------------------

_BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]


def _resource_name(resource: str) -> str:
    # requests.cpu, limits.memory, hugepages-2Mi… → the underlying resource
    for prefix in ("requests.", "limits."):
        if resource.startswith(prefix):
            return resource[len(prefix) :]
    return resource


def _short_decimal(x: Fraction) -> str:
    text = f"{float(x):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def format_human(q: Quantity, resource: str) -> str:
    """Text for people: `600m CPU`, `2 CPU`, `1.5 GiB`, plain counts for object counts."""
    name = _resource_name(resource)
    if name == "cpu":
        if q.amount.denominator == 1:
            return f"{q.amount.numerator} CPU"
        return f"{q.milli_value()}m CPU"
    if name in ("memory", "storage", "ephemeral-storage") or name.startswith("hugepages-"):
        magnitude, unit = abs(q.amount), 0
        while magnitude >= 1024 and unit < len(_BYTE_UNITS) - 1:
            magnitude /= 1024
            unit += 1
        sign = "-" if q.amount < 0 else ""
        return f"{sign}{_short_decimal(magnitude)} {_BYTE_UNITS[unit]}"
    if q.amount.denominator == 1:
        return str(q.amount.numerator)
    return str(q)
