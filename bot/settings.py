"""One settings object, read from the environment by pydantic-settings.

Every problem names the variable it is about, and `Settings.from_env` reports all of them in one `ConfigError`.
Secrets are `SecretStr`: repr(), str() and model_dump() show `**********`; callers ask `.get_secret_value()`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

import httpx
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

CAPILLARY_CLUSTERS = {name: f"https://{name}.api.capillarytech.com" for name in ("apac", "apac2", "eu", "us")}
ENV_PREFIX = "COUPONS_"  # of our own variables
MEGABYTE = 1024 * 1024
# Only the terminal preview runs with no Slack secret at all; the Slack app always has one.
PREVIEW_BUTTON_SECRET = "preview"  # noqa: S105 - not a secret: nothing signed with it reaches Slack

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
# Capillary's `source` for customer lookups.
LookupSource = Literal[
    "FACEBOOK",
    "WEB_ENGAGE",
    "WECHAT",
    "INSTORE",
    "MARTJACK",
    "TMALL",
    "TAOBAO",
    "JD",
    "ECOMMERCE",
    "WEBSITE",
    "LINE",
    "ALL",
    "MAPP_SDK",
]
SlackIds = Annotated[frozenset[str], NoDecode]  # comma-separated, not JSON

_SLACK_ID = re.compile(r"[A-Z0-9]+")
_TOKEN_PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


# pydantic dataclasses, so `BasicCredentials("u", "p")` still works: the plain str becomes a SecretStr.
@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: SecretStr


@dataclass(frozen=True)
class OAuthCredentials:
    client_key: str
    client_secret: SecretStr


CapillaryCredentials = BasicCredentials | OAuthCredentials


def _problem(message: str) -> PydanticCustomError:
    """A validation error whose message is already the one-line text a person reads."""
    return PydanticCustomError("config", "{message}", {"message": message})


class Settings(BaseSettings):
    """Build it with `Settings.from_env()`. pydantic-settings reads each field from `COUPONS_<NAME>` (any case), or
    from its alias: Slack's, Capillary's and the platform's variables keep their own names, without our prefix."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        # A ValidationError must never carry a raw value (a token, a password) into a traceback or a log.
        hide_input_in_errors=True,
    )

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    # The cluster comes before the base URL: the base URL falls back to it.
    capillary_cluster: str | None = Field(None, alias="CAPILLARY_CLUSTER")
    capillary_base_url: str | None = Field(None, alias="CAPILLARY_BASE_URL")
    capillary_username: str | None = Field(None, alias="CAPILLARY_USERNAME")
    capillary_password: SecretStr | None = Field(None, alias="CAPILLARY_PASSWORD")
    capillary_oauth_client_key: str | None = Field(None, alias="CAPILLARY_OAUTH_CLIENT_KEY")
    capillary_oauth_client_secret: SecretStr | None = Field(None, alias="CAPILLARY_OAUTH_CLIENT_SECRET")
    capillary_lookup_source: LookupSource = Field("INSTORE", alias="CAPILLARY_LOOKUP_SOURCE")
    capillary_lookup_account_id: str | None = Field(None, alias="CAPILLARY_LOOKUP_ACCOUNT_ID")
    # Requests a minute to Capillary, every process and host together (through REDIS_URL): the limit agreed with
    # Capillary for the API key (100–1,000 a minute per its documentation). 0: no budget.
    capillary_max_requests_per_minute: int = Field(300, ge=0, le=100_000, alias="CAPILLARY_MAX_REQUESTS_PER_MINUTE")
    port: int = Field(3000, ge=1, le=65535, alias="PORT")
    web_concurrency: int = Field(1, ge=1, le=64, alias="WEB_CONCURRENCY")
    redis_url: SecretStr | None = Field(None, alias="REDIS_URL")
    http_request_timeout_seconds: float = Field(10.0, ge=0.5, le=120, allow_inf_nan=False)
    # After SIGTERM, lookups in flight get this long to answer before their people are told to ask again.
    shutdown_grace_seconds: float = Field(18.0, ge=0, le=25, allow_inf_nan=False)
    demo: bool = False
    # Named apart from `button_secret`, the value in use (it falls back to the Slack secrets).
    configured_button_secret: SecretStr | None = Field(None, alias="COUPONS_BUTTON_SECRET")
    cache_ttl_seconds: float = Field(60.0, ge=0, allow_inf_nan=False)
    cache_max_mb: float = Field(256.0, gt=0, allow_inf_nan=False)
    upstream_deadline_seconds: float = Field(8.0, ge=0.5, allow_inf_nan=False)
    connect_timeout_seconds: float = Field(3.0, ge=0.1, allow_inf_nan=False)
    read_timeout_seconds: float = Field(6.0, ge=0.1, allow_inf_nan=False)
    max_response_mb: float = Field(64.0, gt=0, allow_inf_nan=False)
    max_inflight_mb: float = Field(256.0, gt=0, allow_inf_nan=False)
    max_concurrent_upstream: int = Field(8, ge=1, le=256)
    page_size: int = Field(5, ge=1, le=10)
    allowed_user_ids: SlackIds = frozenset()
    allowed_channel_ids: SlackIds = frozenset()
    allowed_usergroup_ids: SlackIds = frozenset()
    # Comma-separated host names whose /member-care/ui/<customerId> links unfold (empty: none do).
    member_care_hosts: str = ""
    support_contact: str = "your Slack admin"
    currency: str | None = Field(None, max_length=8)
    listener_threads: int = Field(48, ge=1, le=256)
    log_level: LogLevel = "INFO"
    metrics: bool = True
    max_connections: int | None = Field(None, ge=1, le=100_000)  # None: half the open-files limit
    # Coupon actions (issue 26): off unless named here, for the people named below only. (`actions` alone would
    # read COUPONS_ACTIONS too, but says less wherever it is used.)
    coupon_actions: Annotated[frozenset[str], NoDecode] = Field(frozenset(), alias="COUPONS_ACTIONS")
    action_user_ids: SlackIds = frozenset()
    action_usergroup_ids: SlackIds = frozenset()
    goodwill_series_ids: Annotated[tuple[int, ...], NoDecode] = ()
    action_daily_limit: int = Field(20, ge=1, le=10_000)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The process environment's settings; or, given `env` (as tests give it), that mapping's alone."""
        try:
            if env is None:
                return cls()
            # Every field is given (its default when `env` lacks it), so the process environment fills in none.
            return cls(**{f.alias or name: env.get(env_name(name), f.default) for name, f in cls.model_fields.items()})
        except ValidationError as error:
            # `from None`: the ValidationError stays out of tracebacks.
            raise ConfigError("; ".join(map(_line, error.errors()))) from None

    @model_validator(mode="before")
    @classmethod
    def _blank_means_unset(cls, values: dict[str, object]) -> dict[str, object]:
        # The Procfile passes `$PORT`, which may be set but empty: a blank value means the default.
        trimmed = {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}
        return {key: value for key, value in trimmed.items() if value != ""}

    # --- validators, in field order -------------------------------------------------------------------------

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        name = env_name(info.field_name or "")
        prefix = _TOKEN_PREFIXES[name]
        if value is not None and not re.fullmatch(re.escape(prefix) + r"\S+", value.get_secret_value()):
            raise _problem(f"{name} must look like {prefix}… (the value is not shown)")
        return value

    @field_validator("slack_api_url", "capillary_base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:  # CAPILLARY_BASE_URL falls back to CAPILLARY_CLUSTER's
            cluster = info.data.get("capillary_cluster") if info.field_name == "capillary_base_url" else None
            return None if cluster is None else CAPILLARY_CLUSTERS[cluster] + "/"
        name = env_name(info.field_name or "")
        url = _url_with_host(value, {"http", "https"})
        # The value itself is not echoed: a URL may carry credentials.
        if url is None or url.query or url.fragment:
            raise _problem(f"{name} must look like http(s)://host[:port][/path]")
        if url.userinfo:
            raise _problem(f"{name} must not contain credentials; use CAPILLARY_USERNAME/PASSWORD or OAuth")
        return value if value.endswith("/") else value + "/"

    @field_validator("capillary_cluster")
    @classmethod
    def _cluster(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in CAPILLARY_CLUSTERS:
            raise _problem(f"CAPILLARY_CLUSTER must be one of {', '.join(CAPILLARY_CLUSTERS)}, not {value!r}")
        return None if value is None else value.lower()

    @field_validator("capillary_password")
    @classmethod
    def _basic_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        _check_pair("CAPILLARY_USERNAME", info.data.get("capillary_username"), "CAPILLARY_PASSWORD", value)
        return value

    @field_validator("capillary_oauth_client_secret")
    @classmethod
    def _oauth_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        key = info.data.get("capillary_oauth_client_key")
        _check_pair("CAPILLARY_OAUTH_CLIENT_KEY", key, "CAPILLARY_OAUTH_CLIENT_SECRET", value)
        basic = info.data.get("capillary_username") is not None and info.data.get("capillary_password") is not None
        if basic and value is not None:
            raise _problem("CAPILLARY_OAUTH_CLIENT_KEY: set OAuth or Basic (CAPILLARY_USERNAME) credentials, not both")
        return value

    @field_validator("capillary_lookup_source", "log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Never echoed: it may carry the Redis password.
        if value is not None and _url_with_host(value.get_secret_value(), {"redis", "rediss"}) is None:
            raise _problem("REDIS_URL must look like redis://[:password@]host[:port][/db] or rediss://…")
        return value

    @field_validator("coupon_actions", mode="before")
    @classmethod
    def _actions(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        words = frozenset(w.strip().lower() for w in value.split(",") if w.strip())
        unknown = sorted(words - {"resend", "extend", "issue"})
        if unknown:
            raise _problem(f"COUPONS_ACTIONS must be a comma list of resend, extend, issue, not {unknown[0]!r}")
        return words

    @field_validator("goodwill_series_ids", mode="before")
    @classmethod
    def _series_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids = [part.strip() for part in value.split(",") if part.strip()]
        bad = [i for i in ids if not (i.isascii() and i.isdigit() and 0 < len(i) <= 18)]
        if bad:
            raise _problem(f"COUPONS_GOODWILL_SERIES_IDS must be comma-separated series IDs, not {bad[0]!r}")
        return tuple(sorted({int(i) for i in ids}))

    @field_validator(
        "allowed_user_ids",
        "allowed_channel_ids",
        "allowed_usergroup_ids",
        "action_user_ids",
        "action_usergroup_ids",
        mode="before",
    )
    @classmethod
    def _ids(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        ids = frozenset(part.strip() for part in value.split(",") if part.strip())
        bad = sorted(i for i in ids if not _SLACK_ID.fullmatch(i))
        if bad:
            name = env_name(info.field_name or "")
            raise _problem(f"{name} must be comma-separated Slack IDs such as U012AB3CD, not {bad[0]!r}")
        return ids

    # --- derived values -----------------------------------------------------------------------------------

    @property
    def capillary_credentials(self) -> CapillaryCredentials | None:
        if self.capillary_oauth_client_key is not None and self.capillary_oauth_client_secret is not None:
            return OAuthCredentials(self.capillary_oauth_client_key, self.capillary_oauth_client_secret)
        if self.capillary_username is not None and self.capillary_password is not None:
            return BasicCredentials(self.capillary_username, self.capillary_password)
        return None

    @property
    def button_secret(self) -> str:
        """Signs button values; every worker uses the same one, so any worker can serve a click."""
        secrets = (self.configured_button_secret, self.slack_signing_secret, self.slack_app_token, self.slack_bot_token)
        return next((s.get_secret_value() for s in secrets if s is not None), PREVIEW_BUTTON_SECRET)

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * MEGABYTE)

    @property
    def max_inflight_bytes(self) -> int:
        return int(self.max_inflight_mb * MEGABYTE)

    @property
    def cache_max_bytes(self) -> int:
        return int(self.cache_max_mb * MEGABYTE)

    def require_slack(self, *, socket_mode: bool = False, worker: bool = False) -> None:
        """Fail unless the Slack side can start in the chosen mode; names every missing variable."""
        _raise_if(self._missing_slack("worker" if worker else "socket" if socket_mode else "http"))

    def require_data_source(self) -> None:
        """The Slack app must never show invented data by accident: demo data only when asked for."""
        _raise_if(self._missing_data_source())

    def require_all(self, slack: SlackRole) -> None:
        """Everything a Slack-facing process needs (`http`, `socket`, or a `worker`), every missing variable
        named in one line: the Capillary side first, then Slack's."""
        _raise_if([*self._missing_data_source(), *self._missing_slack(slack)])

    def _missing_slack(self, slack: SlackRole) -> list[str]:
        required = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_APP_TOKEN": self.slack_app_token if slack == "socket" else True,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret if slack == "http" else True,
        }
        return [f"{name} is not set" for name, value in required.items() if value is None]

    def _missing_data_source(self) -> list[str]:
        if self.demo:
            return []
        if self.capillary_base_url is None:
            return ["CAPILLARY_BASE_URL (or CAPILLARY_CLUSTER) is not set; set COUPONS_DEMO=1 to use demo data"]
        if self.capillary_credentials is None:
            return [
                "CAPILLARY_USERNAME and CAPILLARY_PASSWORD (or CAPILLARY_OAUTH_CLIENT_KEY and "
                "CAPILLARY_OAUTH_CLIENT_SECRET) are not set; set COUPONS_DEMO=1 to use demo data"
            ]
        return []


SlackRole = Literal["http", "socket", "worker"]


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise ConfigError("; ".join(problems))


def _check_pair(first_name: str, first: object, second_name: str, second: object) -> None:
    if (first is None) != (second is None):
        missing, present = (first_name, second_name) if first is None else (second_name, first_name)
        raise _problem(f"{missing} is not set (it goes with {present})")


def _url_with_host(value: str, schemes: set[str]) -> httpx.URL | None:
    """`value` parsed, if it is a URL with one of `schemes` and a host."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return None
    return url if url.scheme in schemes and url.host else None


def env_name(key: str) -> str:
    """The environment variable behind a field's name or alias, by pydantic-settings' rule: the alias, else
    the prefix and the name."""
    field = Settings.model_fields.get(key)
    return key if field is None else field.alias or ENV_PREFIX + key.upper()


def _line(problem: ErrorDetails) -> str:
    """One pydantic error as one line that names its variable; our own checks' messages already do."""
    if problem["type"] == "config":
        return problem["msg"]
    return f"{env_name(str(problem['loc'][0]))}: {problem['msg']}"
