"""What the listeners work with, built once per process and handed to each `register(app, services)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.access import AccessPolicy
from bot.delivery import Delivery
from bot.jobs import JobFunctions
from bot.lazy_work import LazyWork
from bot.lookup_answers import LookupAnswerer
from bot.replays import Replays

if TYPE_CHECKING:  # Dramatiq is imported only where Redis is configured
    from bot.task_queue import QueueLazyRunner, QueueWatch, TaskQueue


@dataclass(frozen=True)
class Services:
    answerer: LookupAnswerer
    policy: AccessPolicy
    delivery: Delivery
    lazy_work: LazyWork
    replays: Replays
    functions: JobFunctions
    queue: TaskQueue | None = None  # with Redis: the jobs go to the workers
    watch: QueueWatch | None = None  # web with Redis: the queue as /healthz reports it, and the standby
    sender: QueueLazyRunner | None = None  # web with Redis: hands the work after each ack to the queue
