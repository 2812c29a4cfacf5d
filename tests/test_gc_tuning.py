"""The collector is set once the app is built: what exists then is frozen, and young passes come less often."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import bot.web.server
from bot.capillary.coupons import parse_coupons
from bot.demo.customers import bulk_coupons
from bot.gc_tuning import YOUNG_GENERATION_THRESHOLD, settle_after_start
from tests.conftest import CapillaryStandIn, bot_env
from tests.support.slack import FakeSlack


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_exists_and_raises_only_the_young_threshold(collector_restored: None) -> None:
    _, middle, old = gc.get_threshold()
    gc.unfreeze()
    settle_after_start()
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, middle, old)
    assert gc.get_freeze_count() > 10_000  # the modules, the app: everything alive when it was called


def test_a_1000_coupon_parse_triggers_no_young_collection_once_settled(collector_restored: None) -> None:
    body = json.dumps({"entity": bulk_coupons(1000, datetime.now(UTC))}).encode()
    passes: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    settle_after_start()
    gc.collect()
    gc.callbacks.append(count)
    try:
        assert len(parse_coupons(body).entity) == 1000
    finally:
        gc.callbacks.remove(count)
    assert passes == []  # with the default threshold (700) this parse runs 13 passes


def test_the_web_process_settles_the_collector_after_building_the_app(
    monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, capillary: CapillaryStandIn, collector_restored: None
) -> None:
    for name, value in bot_env(slack, capillary).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    settled: list[bool] = []
    monkeypatch.setattr(bot.web.server, "settle_after_start", lambda: settled.append(True))
    monkeypatch.setattr(bot.web.server, "configure_logging", lambda level: None)  # leave the process's logging alone
    bot.web.server.create_asgi_app()
    assert settled == [True]
