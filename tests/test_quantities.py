from __future__ import annotations

import contextlib
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantities import BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI, QuantityError, format_human, parse_quantity

# From apimachinery resource/quantity_test.go (TestQuantityParse, TestQuantityString, TestQuantityParseEmit)
# and the seed's quota transcripts.
CANONICAL = [
    ("600m", "600m"),
    ("1536Mi", "1536Mi"),
    ("0.5Gi", "512Mi"),
    ("1000m", "1"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    ("1e3", "1e3"),
    ("1E-3", "1e-3"),
    ("1.3E+6", "1300e3"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
    ("3.001n", "4n"),
    ("0.00000012345", "124n"),
    ("1.1E-9", "2e-9"),
    ("9Ei", "9223372036854775807"),
    ("12E", "12E"),
    ("1.5", "1500m"),
    ("1080m", "1080m"),
    ("1.08", "1080m"),
    ("5.444T", "5444G"),
    ("1.", "1"),
    ("1.G", "1G"),
    ("0Ki", "0"),
    ("-0.5", "-500m"),
    ("+1", "1"),
    ("300Mi", "300Mi"),
    ("307200Ki", "300Mi"),
    ("1025", "1025"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_quantity(text)) == canonical


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("1Ki", BINARY_SI),
        ("1e3", DECIMAL_EXPONENT),
        ("5n", DECIMAL_SI),
        ("0.000000000001Ki", DECIMAL_SI),
        ("0", DECIMAL_SI),
    ],
)
def test_format_family(text: str, fmt: str) -> None:
    assert parse_quantity(text).format == fmt


@pytest.mark.parametrize(
    "text",
    ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 ", "", "12XB"],
)
def test_invalid(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_error_message_is_kubernetes() -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity("aoeu")
    assert str(err.value) == (
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def test_arithmetic_keeps_left_format_and_zero_takes_right() -> None:
    assert str(parse_quantity("1Gi") + parse_quantity("512Mi")) == "1536Mi"
    assert str(parse_quantity("0") + parse_quantity("1Gi")) == "1Gi"
    assert str(parse_quantity("100m") + parse_quantity("0")) == "100m"
    assert str(parse_quantity("1") - parse_quantity("1Gi")) == "-1073741823"
    assert str(parse_quantity("200m") * 3) == "600m"
    assert str(parse_quantity("512Mi") * 3) == "1536Mi"


def test_compare_value_and_milli_value() -> None:
    assert parse_quantity("10000T") > parse_quantity("100Gi")
    assert parse_quantity("1") == parse_quantity("1000m")
    assert parse_quantity("1.5").value() == 2
    assert parse_quantity("100m").value() == 1
    assert parse_quantity("1n").milli_value() == 1
    assert parse_quantity("1536Mi").value() == 1536 * 2**20


def test_int_and_float_inputs() -> None:
    assert str(parse_quantity(2)) == "2"
    assert str(parse_quantity(0.5)) == "500m"


def test_format_human() -> None:
    assert format_human(parse_quantity("1536Mi"), "limits.memory") == "1.5 GiB"
    assert format_human(parse_quantity("600m"), "requests.cpu") == "600m CPU"
    assert format_human(parse_quantity("2"), "limits.cpu") == "2 CPU"
    assert format_human(parse_quantity("10"), "configmaps") == "10"


_SUFFIXES = [
    "",
    "n",
    "u",
    "m",
    "k",
    "M",
    "G",
    "T",
    "P",
    "E",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
    "e3",
    "E-2",
    "e0",
]


@st.composite
def quantity_text(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.integers(0, 10**6))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,6}", fullmatch=True)))
    return f"{sign}{whole}{frac}{draw(st.sampled_from(_SUFFIXES))}"


@settings(max_examples=150, deadline=None)
@given(quantity_text())
def test_format_then_parse_round_trips(text: str) -> None:
    q = parse_quantity(text)
    again = parse_quantity(str(q))
    assert again == q
    assert str(again) == str(q)


@settings(max_examples=150, deadline=None)
@given(quantity_text(), quantity_text(), st.integers(-50, 50))
def test_arithmetic_agrees_with_fractions(a: str, b: str, n: int) -> None:
    qa, qb = parse_quantity(a), parse_quantity(b)
    assert (qa + qb).amount == qa.amount + qb.amount
    assert (qa - qb).amount == qa.amount - qb.amount
    assert (qa * n).amount == qa.amount * n
    assert (qa < qb) == (qa.amount < qb.amount)
    # Parsed values are whole nanos: the canonical string of a sum re-parses to the exact sum
    # (below BinarySI's int64 cap, which Kubernetes applies when parsing).
    if abs(qa.amount + qb.amount) < 2**63 - 1:
        assert parse_quantity(str(qa + qb)).amount == qa.amount + qb.amount
    assert isinstance(qa.amount, Fraction)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789.+-eEinumkKMGTPx ", max_size=12))
def test_parse_never_raises_anything_but_quantity_error(text: str) -> None:
    with contextlib.suppress(QuantityError):
        parse_quantity(text)
