from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.domain.action_ids import SHORTCUT_FROM_MESSAGE, SHORTCUT_LOOKUP

ROOT = Path(__file__).resolve().parent.parent
# A copy kept in the repository (see tests/data/README.md), so the test reads nothing outside it.
SCHEMA = ROOT / "tests" / "data" / "slack-app-manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_is_valid_against_slacks_schema(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)


def test_manifest_declares_what_the_bot_uses(manifest: dict) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/coupons" and command["usage_hint"] and command["description"]
    assert command["url"].endswith("/slack/events")
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    # Exactly these: a scope the bot does not use is access nobody should have to grant.
    assert sorted(scopes) == sorted(
        ["commands", "chat:write", "im:history", "app_mentions:read", "usergroups:read", "links:read", "links:write"]
    )
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "message.im",
        "app_mention",
        "app_home_opened",
        "link_shared",
        "function_executed",
    }
    assert set(manifest["functions"]) == {"get_customer_coupons"}
    shortcuts = {s["callback_id"]: s["type"] for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {SHORTCUT_LOOKUP: "global", SHORTCUT_FROM_MESSAGE: "message"}
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]
