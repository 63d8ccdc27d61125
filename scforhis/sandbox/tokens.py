"""Tokens shaped like the manual's: base64 of `<MAC>:<account>:<.NET ticks>`.

The manual's example TokenID decodes to `<44 base64 characters>:scws123456:637328229393398157`:
a 32-byte MAC (HMAC-SHA256 is that size) in base64, the account, and the issue time in .NET
ticks (100-nanosecond intervals since 0001-01-01). The sandbox issues the same shape, the MAC
being HMAC-SHA256 of `<account>:<ticks>` under a server secret, with ticks of UTC time. A token
is checked by recomputing its MAC, so a forged or altered token fails; it expires after the
configured lifetime. Nothing is stored per token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

# .NET ticks at 1970-01-01T00:00:00Z, and per second.
TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000
TICKS_PER_SECOND = 10_000_000
# Clocks of two machines differ a little; a token from further in the future is not ours.
_CLOCK_SKEW_SECONDS = 60.0

# Why a token was refused.
MISSING = "missing"
FORGED = "forged"
EXPIRED = "expired"


def dotnet_ticks(unix_seconds: float) -> int:
    """.NET ticks of a Unix time (`DateTime.UtcNow.Ticks` at that moment)."""
    return TICKS_AT_UNIX_EPOCH + round(unix_seconds * TICKS_PER_SECOND)


def unix_seconds(ticks: int) -> float:
    """The Unix time of .NET ticks."""
    return (ticks - TICKS_AT_UNIX_EPOCH) / TICKS_PER_SECOND


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a token: its account when valid, else why it was refused."""

    account: str | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True for a valid, unexpired token."""
        return self.problem is None


class TokenIssuer:
    """Issues and checks tokens under one secret; `lifetime` is in seconds."""

    def __init__(
        self, secret: bytes, lifetime: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.lifetime = lifetime
        self._clock = clock

    def _mac(self, account: str, ticks: str) -> str:
        digest = hmac.new(self._secret, f"{account}:{ticks}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def issue(self, account: str) -> str:
        """A new token for `account`, valid for `lifetime` seconds from now."""
        ticks = str(dotnet_ticks(self._clock()))
        inner = f"{self._mac(account, ticks)}:{account}:{ticks}"
        return base64.b64encode(inner.encode("utf-8")).decode("ascii")

    def check(self, token: object) -> TokenCheck:
        """Whether `token` was issued here, is unaltered and has not expired."""
        if not isinstance(token, str) or not token.strip():
            return TokenCheck(None, MISSING)
        # A `+` typed into a query string unencoded arrives as a space.
        text = token.strip().replace(" ", "+")
        try:
            inner = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return TokenCheck(None, FORGED)
        mac, _, rest = inner.partition(":")
        account, _, ticks = rest.rpartition(":")
        if not account or not (ticks.isascii() and ticks.isdigit()) or len(ticks) > 20:
            return TokenCheck(None, FORGED)
        if not hmac.compare_digest(mac.encode(), self._mac(account, ticks).encode()):
            return TokenCheck(None, FORGED)
        age = self._clock() - unix_seconds(int(ticks))
        if age < -_CLOCK_SKEW_SECONDS:
            return TokenCheck(None, FORGED)
        if age > self.lifetime:
            return TokenCheck(account, EXPIRED)
        return TokenCheck(account)
