from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import BasicCredentials, OAuthCredentials, Settings


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.port == 3000
    assert settings.cache_ttl_seconds == 60
    assert settings.cache_max_customers == 1000
    assert settings.upstream_deadline_seconds == 8
    assert not settings.has_capillary
    assert not settings.access_restricted


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
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb"}).require_slack(socket_mode=False)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb"}).require_slack(socket_mode=True)
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
    assert settings.access_restricted
