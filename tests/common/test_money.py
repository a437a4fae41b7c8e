from decimal import Decimal

import pytest

from common.money import Money, quantize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.005", "1.01"), ("1.004", "1.00"), ("-1.005", "-1.01"), ("2", "2.00"), ("0.125", "0.13")],
)
def test_quantize_rounds_half_up_to_cents(raw: str, expected: str) -> None:
    assert quantize(raw) == Decimal(expected)


def test_quantize_refuses_floats() -> None:
    with pytest.raises(TypeError, match="never a float"):
        quantize(0.1)  # type: ignore[arg-type]


def test_quantize_refuses_non_finite_amounts() -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize("NaN")


def test_money_adds_within_one_currency() -> None:
    assert Money(Decimal("10.10"), "USD") + Money(Decimal("0.905"), "USD") == Money(
        Decimal("11.01"), "USD"
    )


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(ValueError, match="Cannot combine USD with EUR"):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")


def test_money_refuses_unknown_currency() -> None:
    with pytest.raises(ValueError, match="Unknown currency 'XYZ'"):
        Money(Decimal("1"), "XYZ")


def test_money_times_rate_rounds_once() -> None:
    assert Money(Decimal("40.00")).times(Decimal("1.10")) == Money(Decimal("44.00"))
    assert Money(Decimal("20.00")).times(Decimal("0.3333")) == Money(Decimal("6.67"))
