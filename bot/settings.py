"""One settings object, read from the environment with pydantic-settings.

Every problem names the variable it is about, and `Settings.from_env` reports all of them in one `ConfigError`.
Secrets are `SecretStr`: repr(), str() and model_dump() show `**********`; callers ask `.get_secret_value()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import annotated_types
import httpx
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import ConfigError

CAPILLARY_CLUSTERS = {
    "apac": "https://apac.api.capillarytech.com",
    "apac2": "https://apac2.api.capillarytech.com",
    "eu": "https://eu.api.capillarytech.com",
    "us": "https://us.api.capillarytech.com",
}
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
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
_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


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


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over any mapping; values are stripped, blank ones count as unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = {name: value.strip() for name, value in env.items() if value.strip()}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._env


class Settings(BaseSettings):
    """Build it with `Settings.from_env()`; `Settings()` alone gives the defaults, whatever the environment."""

    model_config = SettingsConfigDict(
        frozen=True,
        case_sensitive=True,
        # A ValidationError must never carry a raw value (a token, a password) into a traceback or a log.
        hide_input_in_errors=True,
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    # The cluster comes before the base URL: the base URL falls back to it.
    capillary_cluster: str | None = Field(None, validation_alias="CAPILLARY_CLUSTER")
    capillary_base_url: str | None = Field(None, validation_alias="CAPILLARY_BASE_URL", validate_default=True)
    capillary_username: str | None = Field(None, validation_alias="CAPILLARY_USERNAME")
    capillary_password: SecretStr | None = Field(None, validation_alias="CAPILLARY_PASSWORD", validate_default=True)
    capillary_oauth_client_key: str | None = Field(None, validation_alias="CAPILLARY_OAUTH_CLIENT_KEY")
    capillary_oauth_client_secret: SecretStr | None = Field(
        None, validation_alias="CAPILLARY_OAUTH_CLIENT_SECRET", validate_default=True
    )
    capillary_lookup_source: LookupSource = Field("INSTORE", validation_alias="CAPILLARY_LOOKUP_SOURCE")
    capillary_lookup_account_id: str | None = Field(None, validation_alias="CAPILLARY_LOOKUP_ACCOUNT_ID")
    # Requests a minute to Capillary, every process and host together (through REDIS_URL): the limit agreed with
    # Capillary for the API key (100–1,000 a minute per its documentation). 0: no budget.
    capillary_max_requests_per_minute: int = Field(
        300, ge=0, le=100_000, validation_alias="CAPILLARY_MAX_REQUESTS_PER_MINUTE"
    )
    port: int = Field(3000, ge=1, le=65535, validation_alias="PORT")
    web_concurrency: int = Field(1, ge=1, le=64, validation_alias="WEB_CONCURRENCY")
    http_request_timeout_seconds: float = Field(
        10.0, ge=0.5, le=120, allow_inf_nan=False, validation_alias="COUPONS_HTTP_REQUEST_TIMEOUT_SECONDS"
    )
    # After SIGTERM, lookups in flight get this long to answer before their people are told to ask again.
    shutdown_grace_seconds: float = Field(
        18.0, ge=0, le=25, allow_inf_nan=False, validation_alias="COUPONS_SHUTDOWN_GRACE_SECONDS"
    )
    redis_url: SecretStr | None = Field(None, validation_alias="REDIS_URL")
    demo: bool = Field(False, validation_alias="COUPONS_DEMO")
    configured_button_secret: SecretStr | None = Field(None, validation_alias="COUPONS_BUTTON_SECRET")
    cache_ttl_seconds: float = Field(60.0, ge=0, allow_inf_nan=False, validation_alias="COUPONS_CACHE_TTL_SECONDS")
    cache_max_mb: float = Field(256.0, gt=0, allow_inf_nan=False, validation_alias="COUPONS_CACHE_MAX_MB")
    upstream_deadline_seconds: float = Field(
        8.0, ge=0.5, allow_inf_nan=False, validation_alias="COUPONS_UPSTREAM_DEADLINE_SECONDS"
    )
    connect_timeout_seconds: float = Field(
        3.0, ge=0.1, allow_inf_nan=False, validation_alias="COUPONS_CONNECT_TIMEOUT_SECONDS"
    )
    read_timeout_seconds: float = Field(
        6.0, ge=0.1, allow_inf_nan=False, validation_alias="COUPONS_READ_TIMEOUT_SECONDS"
    )
    max_response_mb: float = Field(64.0, gt=0, allow_inf_nan=False, validation_alias="COUPONS_MAX_RESPONSE_MB")
    max_concurrent_upstream: int = Field(8, ge=1, le=256, validation_alias="COUPONS_MAX_CONCURRENT_UPSTREAM")
    page_size: int = Field(5, ge=1, le=10, validation_alias="COUPONS_PAGE_SIZE")
    allowed_user_ids: SlackIds = Field(frozenset(), validation_alias="COUPONS_ALLOWED_USER_IDS")
    allowed_channel_ids: SlackIds = Field(frozenset(), validation_alias="COUPONS_ALLOWED_CHANNEL_IDS")
    allowed_usergroup_ids: SlackIds = Field(frozenset(), validation_alias="COUPONS_ALLOWED_USERGROUP_IDS")
    # Comma-separated host names whose /member-care/ui/<customerId> links unfold (empty: none do).
    member_care_hosts: str = Field("", validation_alias="COUPONS_MEMBER_CARE_HOSTS")
    support_contact: str = Field("your Slack admin", validation_alias="COUPONS_SUPPORT_CONTACT")
    currency: str | None = Field(None, max_length=8, validation_alias="COUPONS_CURRENCY")
    listener_threads: int = Field(48, ge=1, le=256, validation_alias="COUPONS_LISTENER_THREADS")
    log_level: LogLevel = Field("INFO", validation_alias="COUPONS_LOG_LEVEL")
    metrics: bool = Field(True, validation_alias="COUPONS_METRICS")
    max_connections: int = Field(1000, ge=1, le=100_000, validation_alias="COUPONS_MAX_CONNECTIONS")
    # Coupon actions (issue 26): off unless named here, for the people named below only.
    coupon_actions: Annotated[frozenset[str], NoDecode] = Field(frozenset(), validation_alias="COUPONS_ACTIONS")
    action_user_ids: SlackIds = Field(frozenset(), validation_alias="COUPONS_ACTION_USER_IDS")
    action_usergroup_ids: SlackIds = Field(frozenset(), validation_alias="COUPONS_ACTION_USERGROUP_IDS")
    goodwill_series_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (), validation_alias="COUPONS_GOODWILL_SERIES_IDS"
    )
    action_daily_limit: int = Field(20, ge=1, le=10_000, validation_alias="COUPONS_ACTION_DAILY_LIMIT")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # from_env reads the environment it is given (os.environ, or a test's dict) and passes it in.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        values = _MappingEnvSource(cls, os.environ if env is None else env)()
        try:
            return cls(**values)
        except ValidationError as error:
            # `from None`: the ValidationError stays out of tracebacks.
            raise ConfigError("; ".join(_explain(cls, problem) for problem in error.errors())) from None

    # --- validators, in field order -------------------------------------------------------------------------

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        name = _env_name(cls, info.field_name)
        prefix = _TOKEN_PREFIXES[name]
        if value is not None and not re.fullmatch(re.escape(prefix) + r"\S+", value.get_secret_value()):
            raise _problem(f"{name} must look like {prefix}… (the value is not shown)")
        return value

    @field_validator("slack_api_url", "capillary_base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.field_name == "capillary_base_url":
            cluster = info.data.get("capillary_cluster")
            return None if cluster is None else CAPILLARY_CLUSTERS[cluster] + "/"
        if value is None:
            return value
        name = _env_name(cls, info.field_name)
        try:
            url: httpx.URL | None = httpx.URL(value)
        except httpx.InvalidURL:
            url = None
        # The value itself is not echoed: a URL may carry credentials.
        if url is None or url.scheme not in {"http", "https"} or not url.host or url.query or url.fragment:
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
        if value is None:
            return value
        try:
            url: httpx.URL | None = httpx.URL(value.get_secret_value())
        except httpx.InvalidURL:
            url = None
        # Never echoed: it may carry the Redis password.
        if url is None or url.scheme not in {"redis", "rediss"} or not url.host:
            raise _problem("REDIS_URL must look like redis://[:password@]host[:port][/db] or rediss://…")
        return value

    @field_validator("demo", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lower() not in _FLAGS:
                raise _problem(f"COUPONS_DEMO must be 1 or 0, not {value.lower()!r}")
            return _FLAGS[value.lower()]
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
            name = _env_name(cls, info.field_name)
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
        for secret in (
            self.configured_button_secret,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_bot_token,
        ):
            if secret is not None:
                return secret.get_secret_value()
        return PREVIEW_BUTTON_SECRET

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * MEGABYTE)

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


def _env_name(settings_cls: type[Settings], field_name: str | None) -> str:
    alias = settings_cls.model_fields[field_name or ""].validation_alias
    assert isinstance(alias, str)
    return alias


def _field_by_env_name(settings_cls: type[Settings], name: str) -> FieldInfo | None:
    return next((f for f in settings_cls.model_fields.values() if f.validation_alias == name), None)


def _explain(settings_cls: type[Settings], problem: ErrorDetails) -> str:
    """One pydantic error as one line that names its variable. Only numbers, flags and IDs echo their value."""
    if problem["type"] == "config":
        return problem["msg"]
    name = str(problem["loc"][0]) if problem["loc"] else "settings"
    field = _field_by_env_name(settings_cls, name)
    raw = problem.get("input")
    kind = problem["type"]
    if field is None:
        return f"{name}: {problem['msg']}"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return f"{name} must be a whole number, not {raw!r}"
    if kind in {"float_parsing", "float_type"}:
        return f"{name} must be a number, not {raw!r}"
    if kind == "literal_error":
        return f"{name} must be one of {', '.join(map(str, get_args(field.annotation)))}"
    if kind == "string_too_long":
        return f"{name} must be at most {problem.get('ctx', {}).get('max_length')} characters"
    if field.annotation is int:
        return f"{name} must be {_int_bounds(field)}, not {raw}"
    if field.annotation is float:
        return f"{name} must be a finite number {_float_bound(field)}, not {raw}"
    return f"{name}: {problem['msg']}"


def _bound(field: FieldInfo, kind: type[Any]) -> Any:
    return next((getattr(m, kind.__name__.lower()) for m in field.metadata if isinstance(m, kind)), None)


def _int_bounds(field: FieldInfo) -> str:
    low, high = _bound(field, annotated_types.Ge), _bound(field, annotated_types.Le)
    return f"from {low} to {high}" if high is not None else f"at least {low}"


def _float_bound(field: FieldInfo) -> str:
    above = _bound(field, annotated_types.Gt)
    return f"greater than {above}" if above is not None else f"of at least {_bound(field, annotated_types.Ge)}"
