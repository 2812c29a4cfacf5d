from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.errors import ConfigError
from bot.settings import BasicCredentials, OAuthCredentials, Settings, env_name

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 3000
    assert settings.cache_ttl_seconds == 60
    assert settings.upstream_deadline_seconds == 8
    assert settings.capillary_base_url is None and settings.capillary_credentials is None


@pytest.mark.parametrize(
    ("cluster", "url"),
    [("eu", "https://eu.api.capillarytech.com/"), ("APAC2", "https://apac2.api.capillarytech.com/")],
)
def test_cluster_names_a_host(cluster: str, url: str) -> None:
    assert Settings.from_env({"CAPILLARY_CLUSTER": cluster}).capillary_base_url == url


def test_base_url_accepts_any_host_port_and_path_and_wins_over_cluster() -> None:
    env = {"CAPILLARY_BASE_URL": "http://127.0.0.1:8081/staging", "CAPILLARY_CLUSTER": "eu"}
    assert Settings.from_env(env).capillary_base_url == "http://127.0.0.1:8081/staging/"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"CAPILLARY_CLUSTER": "mars"}, "CAPILLARY_CLUSTER"),
        ({"CAPILLARY_BASE_URL": "ftp://x"}, "CAPILLARY_BASE_URL"),
        ({"CAPILLARY_BASE_URL": "https://x/?a=1"}, "CAPILLARY_BASE_URL"),
        ({"CAPILLARY_BASE_URL": "https://user:hunter2@x/"}, "must not contain credentials"),
        ({"SLACK_API_URL": "not a url"}, "SLACK_API_URL"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"COUPONS_CACHE_TTL_SECONDS": "-1"}, "COUPONS_CACHE_TTL_SECONDS"),
        ({"COUPONS_CACHE_TTL_SECONDS": "nan"}, "COUPONS_CACHE_TTL_SECONDS"),
        ({"COUPONS_DEMO": "maybe"}, "COUPONS_DEMO"),
        ({"CAPILLARY_USERNAME": "u"}, "CAPILLARY_PASSWORD"),
        ({"CAPILLARY_OAUTH_CLIENT_SECRET": "s"}, "CAPILLARY_OAUTH_CLIENT_KEY"),
        ({"COUPONS_ALLOWED_USER_IDS": "U1,<!channel>"}, "COUPONS_ALLOWED_USER_IDS"),
        ({"COUPONS_LOG_LEVEL": "LOUD"}, "COUPONS_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_is_named(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names) as raised:
        Settings.from_env(env)
    assert "hunter2" not in str(raised.value)


def test_credentials_basic_or_oauth_but_not_both() -> None:
    basic = Settings.from_env({"CAPILLARY_USERNAME": "u", "CAPILLARY_PASSWORD": "p"}).capillary_credentials
    assert basic == BasicCredentials("u", "p")
    oauth = Settings.from_env({"CAPILLARY_OAUTH_CLIENT_KEY": "k", "CAPILLARY_OAUTH_CLIENT_SECRET": "s"})
    assert oauth.capillary_credentials == OAuthCredentials("k", "s")
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env(
            {
                "CAPILLARY_USERNAME": "u",
                "CAPILLARY_PASSWORD": "p",
                "CAPILLARY_OAUTH_CLIENT_KEY": "k",
                "CAPILLARY_OAUTH_CLIENT_SECRET": "s",
            }
        )


def test_repr_hides_every_secret() -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-1",
            "SLACK_SIGNING_SECRET": "signing-secret-2",
            "SLACK_APP_TOKEN": "xapp-secret-3",
            "CAPILLARY_USERNAME": "user",
            "CAPILLARY_PASSWORD": "password-4",
        }
    )
    text = repr(settings)
    for secret in ("xoxb-secret-1", "signing-secret-2", "xapp-secret-3", "password-4"):
        assert secret not in text
    oauth = Settings.from_env({"CAPILLARY_OAUTH_CLIENT_KEY": "k", "CAPILLARY_OAUTH_CLIENT_SECRET": "oauth-secret-5"})
    assert "oauth-secret-5" not in repr(oauth)


def test_slack_requirements_depend_on_the_mode() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack(socket_mode=False)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).require_slack(socket_mode=True)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        Settings.from_env({"SLACK_SIGNING_SECRET": "s"}).require_slack(socket_mode=False)


def test_the_slack_app_needs_capillary_or_an_explicit_demo_flag() -> None:
    with pytest.raises(ConfigError, match="COUPONS_DEMO=1"):
        Settings.from_env({}).require_data_source()
    with pytest.raises(ConfigError, match="CAPILLARY_USERNAME"):
        Settings.from_env({"CAPILLARY_CLUSTER": "eu"}).require_data_source()
    Settings.from_env({"COUPONS_DEMO": "1"}).require_data_source()


def test_allow_lists_are_parsed() -> None:
    settings = Settings.from_env({"COUPONS_ALLOWED_USER_IDS": " U1 , U2,", "COUPONS_ALLOWED_CHANNEL_IDS": "C1"})
    assert settings.allowed_user_ids == frozenset({"U1", "U2"})
    assert settings.allowed_channel_ids == frozenset({"C1"})


# --- the move to pydantic-settings ------------------------------------------------------------------------


def test_new_settings_have_their_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.max_response_mb == 64  # a 10,000-coupon customer (34 MB) is answered on defaults
    assert settings.max_response_bytes == 64 * 1024 * 1024
    assert settings.cache_max_mb == 256
    assert settings.cache_max_bytes == 256 * 1024 * 1024
    assert settings.max_concurrent_upstream == 8
    assert settings.web_concurrency == 1
    assert settings.redis_url is None
    assert settings.capillary_lookup_source == "INSTORE"
    assert settings.capillary_lookup_account_id is None
    assert settings.currency is None
    assert settings.capillary_max_requests_per_minute == 300
    assert settings.configured_button_secret is None
    assert settings.button_secret == "preview"


def test_new_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "COUPONS_MAX_RESPONSE_MB": "0.5",
            "COUPONS_CACHE_MAX_MB": "64",
            "COUPONS_MAX_CONCURRENT_UPSTREAM": "256",
            "WEB_CONCURRENCY": "64",
            "REDIS_URL": "rediss://:pw@cache.internal:6380/2",
            "CAPILLARY_LOOKUP_SOURCE": "web_engage",
            "CAPILLARY_LOOKUP_ACCOUNT_ID": " 12345 ",
            "COUPONS_CURRENCY": "₹",
        }
    )
    assert settings.max_response_bytes == 512 * 1024
    assert settings.cache_max_mb == 64
    assert settings.max_concurrent_upstream == 256
    assert settings.web_concurrency == 64
    assert settings.redis_url == SecretStr("rediss://:pw@cache.internal:6380/2")
    assert settings.capillary_lookup_source == "WEB_ENGAGE"
    assert settings.capillary_lookup_account_id == "12345"
    assert settings.currency == "₹"
    assert Settings.from_env({"REDIS_URL": "redis://localhost"}).redis_url is not None
    assert Settings.from_env({"CAPILLARY_MAX_REQUESTS_PER_MINUTE": "100"}).capillary_max_requests_per_minute == 100
    assert Settings.from_env({"CAPILLARY_MAX_REQUESTS_PER_MINUTE": "0"}).capillary_max_requests_per_minute == 0


@pytest.mark.parametrize("port", ["", "   "])
def test_an_empty_port_means_the_default(port: str) -> None:
    # The Procfile passes `$PORT`, which may be set but empty.
    assert Settings.from_env({"PORT": port}).port == 3000


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"COUPONS_MAX_RESPONSE_MB": "0"}, "greater than 0"),
        ({"COUPONS_MAX_RESPONSE_MB": "inf"}, "finite number"),
        ({"COUPONS_MAX_RESPONSE_MB": "big"}, "valid number"),
        ({"COUPONS_CACHE_MAX_MB": "-1"}, "greater than 0"),
        ({"COUPONS_MAX_CONCURRENT_UPSTREAM": "0"}, "greater than or equal to 1"),
        ({"COUPONS_MAX_CONCURRENT_UPSTREAM": "257"}, "less than or equal to 256"),
        ({"WEB_CONCURRENCY": "65"}, "less than or equal to 64"),
        ({"WEB_CONCURRENCY": "two"}, "valid integer"),
        ({"COUPONS_CURRENCY": "RUPEES123"}, "at most 8 characters"),
        ({"CAPILLARY_LOOKUP_SOURCE": "POS"}, "'FACEBOOK', 'WEB_ENGAGE', 'WECHAT', 'INSTORE', 'MARTJACK', 'TMALL'"),
        ({"PORT": "0"}, "greater than or equal to 1"),
        ({"COUPONS_CACHE_TTL_SECONDS": "nan"}, "finite number"),
        ({"COUPONS_DEMO": "Maybe"}, "valid boolean"),
        ({"CAPILLARY_MAX_REQUESTS_PER_MINUTE": "-1"}, "greater than or equal to 0"),
        ({"CAPILLARY_MAX_REQUESTS_PER_MINUTE": "5/s"}, "valid integer"),
    ],
)
def test_a_bad_new_setting_gets_one_line(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    [name] = env
    # pydantic's own words, after the variable's name.
    assert str(raised.value).startswith(f"{name}: ") and says in str(raised.value)
    assert "\n" not in str(raised.value) and ";" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-hunter2"}, "SLACK_BOT_TOKEN must look like xoxb-… (the value is not shown)"),
        ({"SLACK_BOT_TOKEN": "xoxb-"}, "SLACK_BOT_TOKEN must look like xoxb-… (the value is not shown)"),
        ({"SLACK_APP_TOKEN": "xoxb-hunter2"}, "SLACK_APP_TOKEN must look like xapp-… (the value is not shown)"),
        ({"REDIS_URL": "http://:hunter2@cache/0"}, "REDIS_URL must look like"),
        ({"REDIS_URL": "redis://:hunter2@"}, "REDIS_URL must look like"),
        ({"REDIS_URL": "hunter2"}, "REDIS_URL must look like"),
    ],
)
def test_a_malformed_secret_is_named_but_never_echoed(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(message)
    assert "hunter2" not in str(raised.value)
    # The pydantic error (which holds the raw values) is not chained into tracebacks.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"COUPONS_PAGE_SIZE": "50", "COUPONS_LOG_LEVEL": "loud"})
    assert str(raised.value) == (
        "COUPONS_PAGE_SIZE: Input should be less than or equal to 10; "
        "COUPONS_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"
    )
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "SLACK_BOT_TOKEN": "hunter2",
                "CAPILLARY_CLUSTER": "mars",
                "CAPILLARY_USERNAME": "u",
                "PORT": "eighty",
                "REDIS_URL": "https://:hunter2@x",
                "COUPONS_DEMO": "maybe",
                "COUPONS_ALLOWED_USER_IDS": "U1,<!channel>",
                "COUPONS_CACHE_MAX_MB": "0",
            }
        )
    parts = str(raised.value).split("; ")
    named = [re.split(r"[ :]", part)[0] for part in parts]
    assert named == [
        "SLACK_BOT_TOKEN",
        "CAPILLARY_CLUSTER",
        "CAPILLARY_PASSWORD",
        "PORT",
        "REDIS_URL",
        "COUPONS_DEMO",
        "COUPONS_CACHE_MAX_MB",
        "COUPONS_ALLOWED_USER_IDS",
    ]
    assert "hunter2" not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_require_slack_names_everything_missing() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({}).require_slack(socket_mode=False)
    assert str(raised.value) == "SLACK_BOT_TOKEN is not set; SLACK_SIGNING_SECRET is not set"
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({}).require_slack(socket_mode=True)
    assert str(raised.value) == "SLACK_BOT_TOKEN is not set; SLACK_APP_TOKEN is not set"
    Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).require_slack(socket_mode=True)


@pytest.mark.parametrize(
    ("env", "secret"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-4"}, "xoxb-4"),
        ({"SLACK_BOT_TOKEN": "xoxb-4", "SLACK_APP_TOKEN": "xapp-3"}, "xapp-3"),
        ({"SLACK_BOT_TOKEN": "xoxb-4", "SLACK_APP_TOKEN": "xapp-3", "SLACK_SIGNING_SECRET": "s2"}, "s2"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-4",
                "SLACK_APP_TOKEN": "xapp-3",
                "SLACK_SIGNING_SECRET": "s2",
                "COUPONS_BUTTON_SECRET": "b1",
            },
            "b1",
        ),
    ],
)
def test_button_secret_falls_back_from_its_own_setting_to_the_slack_secrets(env: dict[str, str], secret: str) -> None:
    assert Settings.from_env(env).button_secret == secret


ALL_SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-secret-1",
    "SLACK_SIGNING_SECRET": "signing-secret-2",
    "SLACK_APP_TOKEN": "xapp-secret-3",
    "CAPILLARY_USERNAME": "user",
    "CAPILLARY_PASSWORD": "password-4",
    "REDIS_URL": "redis://:redis-password-6@cache:6379/0",
    "COUPONS_BUTTON_SECRET": "button-secret-7",
}


def test_no_view_of_the_settings_shows_a_secret() -> None:
    settings = Settings.from_env(ALL_SECRETS)
    oauth = Settings.from_env({"CAPILLARY_OAUTH_CLIENT_KEY": "k", "CAPILLARY_OAUTH_CLIENT_SECRET": "oauth-secret-5"})
    views = [
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
        repr(settings.capillary_credentials),
        repr(oauth),
        str(oauth.model_dump()),
        repr(oauth.capillary_credentials),
    ]
    secrets = [value for name, value in ALL_SECRETS.items() if name != "CAPILLARY_USERNAME"]
    for view in views:
        for secret in [*secrets, "redis-password-6", "oauth-secret-5"]:
            assert secret not in view
    # ...while the code that needs them still gets them.
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret-1"
    assert settings.button_secret == "button-secret-7"


def test_credentials_take_plain_strings_and_keep_them_secret() -> None:
    credentials = BasicCredentials("u", "p")  # type: ignore[arg-type]  # coerced, as tests and benchmarks use it
    assert credentials.password.get_secret_value() == "p"
    assert credentials == BasicCredentials("u", SecretStr("p"))
    assert "'p'" not in repr(credentials)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUPONS_PAGE_SIZE", "7")
    monkeypatch.setenv("coupons_listener_threads", "3")  # pydantic-settings' rule: names in any case
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("COUPONS_ALLOWED_USER_IDS", "U1, U2")  # a list, yet not JSON
    monkeypatch.setenv("COUPONS_GOODWILL_SERIES_IDS", "7,5")
    monkeypatch.setenv("PORT", " ")  # set but blank: the default
    settings = Settings.from_env()
    assert (settings.page_size, settings.listener_threads, settings.port) == (7, 3, 3000)
    assert settings.slack_bot_token == SecretStr("xoxb-1")
    assert settings.allowed_user_ids == frozenset({"U1", "U2"})
    assert settings.goodwill_series_ids == (5, 7)
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(ConfigError, match=r"^WEB_CONCURRENCY: "):
        Settings.from_env()


def test_a_given_environment_is_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUPONS_PAGE_SIZE", "7")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = Settings.from_env({"PORT": "8080"})
    assert (settings.port, settings.page_size, settings.slack_bot_token) == (8080, 5, None)


def test_the_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)?", README.read_text(), flags=re.MULTILINE))
    names = {name for row in documented for name in row if name}
    for field in Settings.model_fields:
        assert env_name(field) in names
