"""One settings object, read from the environment. Every problem names the variable it is about."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from bot.errors import ConfigError

CAPILLARY_CLUSTERS = {
    "apac": "https://apac.api.capillarytech.com",
    "apac2": "https://apac2.api.capillarytech.com",
    "eu": "https://eu.api.capillarytech.com",
    "us": "https://us.api.capillarytech.com",
}
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class OAuthCredentials:
    client_key: str
    client_secret: str = field(repr=False)


CapillaryCredentials = BasicCredentials | OAuthCredentials


@dataclass(frozen=True)
class Settings:
    # Secrets are left out of repr() so a logged or printed Settings never shows them.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    capillary_base_url: str | None = None
    capillary_credentials: CapillaryCredentials | None = None
    port: int = 3000
    demo: bool = False
    cache_ttl_seconds: float = 60.0
    cache_max_customers: int = 1000
    upstream_deadline_seconds: float = 8.0
    connect_timeout_seconds: float = 3.0
    read_timeout_seconds: float = 6.0
    page_size: int = 5
    allowed_user_ids: frozenset[str] = frozenset()
    allowed_channel_ids: frozenset[str] = frozenset()
    allowed_usergroup_ids: frozenset[str] = frozenset()
    support_contact: str = "your Slack admin"
    listener_threads: int = 16
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        reader = _EnvReader(env)
        settings = cls(
            slack_bot_token=reader.text("SLACK_BOT_TOKEN"),
            slack_signing_secret=reader.text("SLACK_SIGNING_SECRET"),
            slack_app_token=reader.text("SLACK_APP_TOKEN"),
            slack_api_url=reader.url("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            capillary_base_url=_capillary_base_url(reader),
            capillary_credentials=_capillary_credentials(reader),
            port=reader.integer("PORT", 3000, minimum=1, maximum=65535),
            demo=reader.flag("COUPONS_DEMO"),
            cache_ttl_seconds=reader.number("COUPONS_CACHE_TTL_SECONDS", 60.0, minimum=0),
            cache_max_customers=reader.integer("COUPONS_CACHE_MAX_CUSTOMERS", 1000, minimum=1),
            upstream_deadline_seconds=reader.number("COUPONS_UPSTREAM_DEADLINE_SECONDS", 8.0, minimum=0.5),
            connect_timeout_seconds=reader.number("COUPONS_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=0.1),
            read_timeout_seconds=reader.number("COUPONS_READ_TIMEOUT_SECONDS", 6.0, minimum=0.1),
            page_size=reader.integer("COUPONS_PAGE_SIZE", 5, minimum=1, maximum=10),
            allowed_user_ids=reader.ids("COUPONS_ALLOWED_USER_IDS"),
            allowed_channel_ids=reader.ids("COUPONS_ALLOWED_CHANNEL_IDS"),
            allowed_usergroup_ids=reader.ids("COUPONS_ALLOWED_USERGROUP_IDS"),
            support_contact=reader.text("COUPONS_SUPPORT_CONTACT") or "your Slack admin",
            listener_threads=reader.integer("COUPONS_LISTENER_THREADS", 16, minimum=1, maximum=256),
            log_level=(reader.text("COUPONS_LOG_LEVEL") or "INFO").upper(),
        )
        if settings.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("COUPONS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return settings

    @property
    def has_capillary(self) -> bool:
        return self.capillary_base_url is not None and self.capillary_credentials is not None

    @property
    def access_restricted(self) -> bool:
        return bool(self.allowed_user_ids or self.allowed_usergroup_ids or self.allowed_channel_ids)

    def require_slack(self, *, socket_mode: bool) -> None:
        """Fail unless the Slack side can start in the chosen mode."""
        required = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"]
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        for name in required:
            if not values[name]:
                raise ConfigError(f"{name} is not set")

    def require_data_source(self) -> None:
        """The Slack app must never show invented data by accident: demo data only when asked for."""
        if self.demo:
            return
        if self.capillary_base_url is None:
            raise ConfigError(
                "CAPILLARY_BASE_URL (or CAPILLARY_CLUSTER) is not set; set COUPONS_DEMO=1 to use demo data"
            )
        if self.capillary_credentials is None:
            raise ConfigError(
                "CAPILLARY_USERNAME and CAPILLARY_PASSWORD (or CAPILLARY_OAUTH_CLIENT_KEY and "
                "CAPILLARY_OAUTH_CLIENT_SECRET) are not set; set COUPONS_DEMO=1 to use demo data"
            )


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def flag(self, name: str) -> bool:
        value = (self.text(name) or "0").lower()
        if value in {"1", "true", "yes", "on"}:
            return True
        if value in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be 1 or 0, not {value!r}")

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            raise ConfigError(f"{name} must be {bounds}, not {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
        if not value >= minimum or value == float("inf"):
            raise ConfigError(f"{name} must be a finite number of at least {minimum}, not {raw}")
        return value

    def ids(self, name: str) -> frozenset[str]:
        raw = self.text(name) or ""
        ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
        bad = sorted(i for i in ids if not (i.isascii() and i.isalnum() and i.isupper()))
        if bad:
            raise ConfigError(f"{name} must be comma-separated Slack IDs such as U012AB3CD, not {bad[0]!r}")
        return ids

    def url(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            url = httpx.URL(raw)
        except httpx.InvalidURL:
            url = None
        # The value itself is not echoed: a URL may carry credentials.
        if url is None or url.scheme not in {"http", "https"} or not url.host or url.query or url.fragment:
            raise ConfigError(f"{name} must look like http(s)://host[:port][/path]")
        if url.userinfo:
            raise ConfigError(f"{name} must not contain credentials; use CAPILLARY_USERNAME/PASSWORD or OAuth")
        return raw if raw.endswith("/") else raw + "/"


def _capillary_base_url(reader: _EnvReader) -> str | None:
    base_url = reader.url("CAPILLARY_BASE_URL")
    cluster = reader.text("CAPILLARY_CLUSTER")
    if base_url is not None:
        return base_url
    if cluster is None:
        return None
    if cluster.lower() not in CAPILLARY_CLUSTERS:
        raise ConfigError(f"CAPILLARY_CLUSTER must be one of {', '.join(CAPILLARY_CLUSTERS)}, not {cluster!r}")
    return CAPILLARY_CLUSTERS[cluster.lower()] + "/"


def _capillary_credentials(reader: _EnvReader) -> CapillaryCredentials | None:
    username, password = reader.text("CAPILLARY_USERNAME"), reader.text("CAPILLARY_PASSWORD")
    key, secret = reader.text("CAPILLARY_OAUTH_CLIENT_KEY"), reader.text("CAPILLARY_OAUTH_CLIENT_SECRET")
    basic = _pair("CAPILLARY_USERNAME", username, "CAPILLARY_PASSWORD", password)
    oauth = _pair("CAPILLARY_OAUTH_CLIENT_KEY", key, "CAPILLARY_OAUTH_CLIENT_SECRET", secret)
    if basic and oauth:
        raise ConfigError("CAPILLARY_OAUTH_CLIENT_KEY: set OAuth or Basic (CAPILLARY_USERNAME) credentials, not both")
    if oauth:
        return OAuthCredentials(client_key=key or "", client_secret=secret or "")
    if basic:
        return BasicCredentials(username=username or "", password=password or "")
    return None


def _pair(first_name: str, first: str | None, second_name: str, second: str | None) -> bool:
    if (first is None) != (second is None):
        missing = first_name if first is None else second_name
        present = second_name if first is None else first_name
        raise ConfigError(f"{missing} is not set (it goes with {present})")
    return first is not None
