"""Client settings: base URLs, credentials, institution, timeout, TLS, token age and retries.

Each setting is taken from the client's argument, else its environment variable, else the default:

| setting | environment variable | default |
| --- | --- | --- |
| `query_url` (可否收案查詢 GetTokenID, GetSCDataB) | `SCFORHIS_QUERY_URL` | `base_url` |
| `upload_url` (新增/修改/刪除 Save, Update, Delete) | `SCFORHIS_UPLOAD_URL` | `base_url` |
| `base_url` (one host serving both) | `SCFORHIS_BASE_URL` | none |
| `account` (帳號) | `SCFORHIS_ACCOUNT` | none |
| `password` (密碼) | `SCFORHIS_PASSWORD` | none |
| `hosp_id` (醫事機構代碼) | `SCFORHIS_HOSP_ID` | none |
| `hosp_seq_no` (分院識別號) | `SCFORHIS_HOSP_SEQ_NO` | none |
| `timeout` (seconds one attempt may take in all) | `SCFORHIS_TIMEOUT` | 30 |
| `verify` (TLS verification) | `SCFORHIS_VERIFY` (true/false) | true |
| `verify` as a CA bundle path | `SCFORHIS_CA_BUNDLE` | none |
| `token_max_age` (seconds) | `SCFORHIS_TOKEN_MAX_AGE` | 900 |
| `retry.retries` (extra attempts) | `SCFORHIS_RETRIES` | 2 |
| `retry.backoff` (first delay, seconds) | `SCFORHIS_RETRY_BACKOFF` | 0.5 |
| `strict` (refuse a record with warnings too) | `SCFORHIS_STRICT` (true/false) | false |

The service URL variables are the spec's (`services.*.env`); when only one of the two URLs is set,
it serves both. Credentials travel only over HTTPS, except to a loopback address (a local sandbox);
URLs with a user name or password in them are refused, since URLs end up in logs.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit

from scforhis.errors import ConfigurationError

if TYPE_CHECKING:
    import ssl  # imported where a context is built: `scforhis validate` never needs it

ENV_BASE_URL = "SCFORHIS_BASE_URL"
ENV_ACCOUNT = "SCFORHIS_ACCOUNT"
ENV_PASSWORD = "SCFORHIS_PASSWORD"
ENV_HOSP_ID = "SCFORHIS_HOSP_ID"
ENV_HOSP_SEQ_NO = "SCFORHIS_HOSP_SEQ_NO"
ENV_TIMEOUT = "SCFORHIS_TIMEOUT"
ENV_STRICT = "SCFORHIS_STRICT"
ENV_VERIFY = "SCFORHIS_VERIFY"
ENV_CA_BUNDLE = "SCFORHIS_CA_BUNDLE"
ENV_TOKEN_MAX_AGE = "SCFORHIS_TOKEN_MAX_AGE"
ENV_RETRIES = "SCFORHIS_RETRIES"
ENV_RETRY_BACKOFF = "SCFORHIS_RETRY_BACKOFF"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried: `retries` extra attempts, delays doubling from `backoff`
    up to `max_backoff`.

    A `Retry-After` answer header (seconds or an HTTP date) replaces the computed delay and is
    honoured in full: the client never retries earlier than it asks. When it asks for more than
    `max_wait` seconds, the client does not wait: it raises `RetryLaterError`, which says when.
    """

    retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        numbers = (self.retries, self.backoff, self.max_backoff, self.max_wait)
        if not all(math.isfinite(number) for number in numbers):
            raise ConfigurationError(
                "重試次數與間隔須為有限的數字 / retries and backoff must be finite"
            )
        if min(numbers) < 0:
            raise ConfigurationError(
                "重試次數與間隔不可為負數 / retries and backoff must not be negative"
            )

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): what `Retry-After`
        asks for (uncapped), else the backoff."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return asked
        return min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date); None when
    absent or unreadable. A date in the past asks for 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a client needs to call the service; `repr` never shows the credentials."""

    query_url: str
    upload_url: str
    account: str | None = None
    password: str | None = None
    hosp_id: str | None = None
    hosp_seq_no: str | None = None
    timeout: float = 30.0
    verify: bool | str | ssl.SSLContext = True
    token_max_age: float = 900.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Refuse a record with warnings (programme rules, plausibility) as well as errors.
    strict: bool = False

    def __post_init__(self) -> None:
        for name in ("query_url", "upload_url"):
            check_url(getattr(self, name), name)
        if not math.isfinite(self.timeout) or not math.isfinite(self.token_max_age):
            raise ConfigurationError(
                "timeout 與 token_max_age 須為有限的數字 / timeout and token_max_age must be finite"
            )
        if self.timeout <= 0:
            raise ConfigurationError("timeout 須大於 0 / timeout must be positive")
        if self.token_max_age < 0:
            raise ConfigurationError(
                "token_max_age 不可為負數 / token_max_age must not be negative"
            )

    def base_url(self, service: str) -> str:
        """The base URL of the spec's service `service` ("query" or "upload")."""
        url: str = getattr(self, f"{service}_url")
        return url

    def url(self, service: str, path: str) -> str:
        """The full URL of `path` on `service`."""
        return f"{self.base_url(service).rstrip('/')}/{path.lstrip('/')}"

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """What httpx takes as `verify`: True, False, or a context built from a CA bundle path."""
        if isinstance(self.verify, str):
            import ssl

            try:
                return ssl.create_default_context(cafile=self.verify)
            except (OSError, ssl.SSLError) as error:
                raise ConfigurationError(
                    f"無法讀取 CA 憑證檔 / cannot read the CA bundle {self.verify!r}: {error}"
                ) from None
        return self.verify

    def __repr__(self) -> str:
        hidden = {"account": self.account, "password": self.password}
        parts = [
            f"{name}={'******' if value is not None else None}" for name, value in hidden.items()
        ]
        shown = ("query_url", "upload_url", "hosp_id", "hosp_seq_no", "timeout", "verify")
        parts += [f"{name}={getattr(self, name)!r}" for name in shown]
        parts += [f"token_max_age={self.token_max_age!r}", f"retry={self.retry!r}"]
        if self.strict:
            parts.append("strict=True")
        return f"Settings({', '.join(parts)})"


class SettingsOptions(TypedDict, total=False):
    """The keyword settings a client takes (see the table above); all optional."""

    query_url: str | None
    upload_url: str | None
    base_url: str | None
    account: str | None
    password: str | None
    hosp_id: str | None
    hosp_seq_no: str | None
    timeout: float | None
    verify: bool | str | ssl.SSLContext | None
    token_max_age: float | None
    retry: RetryPolicy | None
    strict: bool | None


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, name: str) -> None:
    """Refuse a base URL that would expose credentials: not HTTPS (outside loopback), or userinfo."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        host, parts = "", None
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(
            f"{name} 須為 https:// 網址 / {name} must be an https:// URL (got {url!r})"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{name} 不可含帳號密碼 / {name} must not carry a user name or password"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigurationError(
            f"{name} 須使用 HTTPS（僅本機可用 http）/ {name} must use HTTPS: credentials are "
            f"sent only over TLS, except to a loopback address (got host {host!r})"
        )


def _number(environ: Mapping[str, str], name: str) -> float | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} 須為數字 / {name} must be a number") from None
    if not math.isfinite(value):  # nan and inf parse as floats but mean nothing here
        raise ConfigurationError(
            f"{name} 須為有限的數字 / {name} must be a finite number (got {text!r})"
        )
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool | None:
    text = environ.get(name, "").strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} 須為 true 或 false / {name} must be true or false")


def _text(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def load_settings(
    service_env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    *,
    query_url: str | None = None,
    upload_url: str | None = None,
    base_url: str | None = None,
    account: str | None = None,
    password: str | None = None,
    hosp_id: str | None = None,
    hosp_seq_no: str | None = None,
    timeout: float | None = None,
    verify: bool | str | ssl.SSLContext | None = None,
    token_max_age: float | None = None,
    retry: RetryPolicy | None = None,
    strict: bool | None = None,
) -> Settings:
    """Settings from the arguments, else the environment (`os.environ` by default), else defaults.

    `service_env` maps each service ("query", "upload") to its URL variable, as the spec names it.
    """
    env = os.environ if environ is None else environ
    base = base_url or _text(env, ENV_BASE_URL)
    query = query_url or _text(env, service_env["query"])
    upload = upload_url or _text(env, service_env["upload"])
    query, upload = query or base or upload, upload or base or query
    if query is None or upload is None:
        names = ", ".join([*service_env.values(), ENV_BASE_URL])
        raise ConfigurationError(
            f"未設定服務網址 / no service URL: pass query_url/upload_url or set one of {names}"
        )
    if verify is None:
        bundle = _text(env, ENV_CA_BUNDLE)
        flag = _flag(env, ENV_VERIFY)
        verify = bundle if bundle is not None and flag is not False else flag
    if retry is None:
        retries, backoff = _number(env, ENV_RETRIES), _number(env, ENV_RETRY_BACKOFF)
        retry = RetryPolicy(
            retries=2 if retries is None else int(retries),
            backoff=0.5 if backoff is None else backoff,
        )
    found_timeout = timeout if timeout is not None else _number(env, ENV_TIMEOUT)
    found_age = token_max_age if token_max_age is not None else _number(env, ENV_TOKEN_MAX_AGE)
    return Settings(
        query_url=query,
        upload_url=upload,
        account=account if account is not None else _text(env, ENV_ACCOUNT),
        password=password if password is not None else environ_secret(env, ENV_PASSWORD),
        hosp_id=hosp_id if hosp_id is not None else _text(env, ENV_HOSP_ID),
        hosp_seq_no=hosp_seq_no if hosp_seq_no is not None else _text(env, ENV_HOSP_SEQ_NO),
        timeout=30.0 if found_timeout is None else found_timeout,
        verify=True if verify is None else verify,
        token_max_age=900.0 if found_age is None else found_age,
        retry=retry,
        strict=bool(strict if strict is not None else _flag(env, ENV_STRICT)),
    )


def environ_secret(environ: Mapping[str, str], name: str) -> str | None:
    """A secret from the environment, kept exactly (a password may begin or end with a space)."""
    value = environ.get(name)
    return value if value else None
