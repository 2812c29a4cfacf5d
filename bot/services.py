"""What the listeners work with, built once per process and handed to each `register(app, services)`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import AccessPolicy
from bot.delivery import Delivery
from bot.lazy_work import LazyWork
from bot.lookup_answers import LookupAnswerer
from bot.replays import Replays


@dataclass(frozen=True)
class Services:
    answerer: LookupAnswerer
    policy: AccessPolicy
    delivery: Delivery
    lazy_work: LazyWork
    replays: Replays
