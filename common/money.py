"""Money: Decimal amounts with an explicit ISO 4217 currency, rounded in one place."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# The currencies the service pays in; amounts in others are refused rather than guessed.
CURRENCIES = ("USD", "EUR", "GBP")
DEFAULT_CURRENCY = "USD"


def quantize(amount: Decimal | int | str) -> Decimal:
    """Round an amount to cents, half up: the one rounding rule for stored money."""
    if isinstance(amount, float):
        raise TypeError("Money is never a float; pass a Decimal, an int or a string.")
    try:
        value = Decimal(amount)
    except InvalidOperation as error:
        raise ValueError(f"Not an amount: {amount!r}") from error
    if not value.is_finite():
        raise ValueError(f"Not a finite amount: {amount!r}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if self.currency not in CURRENCIES:
            raise ValueError(f"Unknown currency {self.currency!r}; expected one of {CURRENCIES}.")
        object.__setattr__(self, "amount", quantize(self.amount))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, factor: Decimal | int) -> Money:
        """Multiply by a rate, hours or multiplier, rounding the result once."""
        if isinstance(factor, float):
            raise TypeError("Money is never multiplied by a float; use a Decimal.")
        return Money(self.amount * Decimal(factor), self.currency)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}.")

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"
