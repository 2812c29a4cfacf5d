"""A job: the second half of a listener (its lazy function) with the request it answers, as plain JSON.

`web` (or Socket Mode's `serve`) acks a request and turns the lazy half into a `Job`; whoever runs jobs — a
`worker` process through the task queue, or `web` itself without Redis — rebuilds the request from it and calls
the same function Bolt would have called on a thread. The function is found by name in `JobFunctions`, which
`listeners.lazy.guarded` fills as the listeners are registered, in every process alike.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.request import BoltRequest

from bot.after_answer import answering
from bot.store import Store

logger = logging.getLogger(__name__)

# A job whose answer was posted is marked for this long: a redelivery within it is not answered again.
DONE_TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class Job:
    id: str
    function: str  # the lazy function's name (`guarded` makes them unique)
    body: str | dict[str, Any]  # HTTP: the raw body as Slack sent it; Socket Mode: the parsed payload
    mode: str  # "http" or "socket_mode"
    content_type: str | None
    access_allowed: bool  # what the access check before the ack decided

    @classmethod
    def of(cls, request: BoltRequest) -> Job:
        """The job for a lazy request Bolt has built (`lazy_function_name` set)."""
        content_type = request.headers.get("content-type", [None])[0]
        return cls(
            id=secrets.token_hex(12),
            function=str(request.lazy_function_name),
            body=request.raw_body if request.mode == "http" else request.body,
            mode=request.mode,
            content_type=content_type,
            access_allowed=bool(request.context.get("access_allowed", True)),
        )

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Job:
        return cls(**message)

    def request(self) -> BoltRequest:
        """The request again, as the lazy function would have seen it on a thread of `web`."""
        headers: dict[str, str | Sequence[str]] = {"content-type": self.content_type} if self.content_type else {}
        return BoltRequest(
            body=self.body, headers=headers, context={"access_allowed": self.access_allowed}, mode=self.mode
        )

    @property
    def payload(self) -> dict[str, Any]:
        """The request's parsed body (for de-duplication before the job is queued)."""
        if isinstance(self.body, dict):
            return self.body
        return self.request().body


class JobFunctions:
    """Lazy functions by name: the same names in every process that registers the same listeners."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., None]] = {}

    def add(self, function: Callable[..., None]) -> None:
        name = function.__name__
        if name in self._functions:
            raise ValueError(f"two lazy functions are named {name!r}: a job could not tell them apart")
        self._functions[name] = function

    def run(self, job: Job) -> None:
        """Run `job` here, now (its function answers the person, whatever happens)."""
        function = self._functions.get(job.function)
        if function is None:  # a job from a newer or older version of the bot
            logger.warning("a job names no function this version has (%s): dropped", job.function)
            return
        with answering():  # what can wait for the answer (writing to the shared store) waits
            build_runnable_function(func=function, logger=logger, request=job.request())()


def run_once(functions: JobFunctions, store: Store, job: Job) -> None:
    """Run a job unless its answer was already posted (a redelivery after its worker died having answered)."""
    done = f"job:{job.id}:done"
    if store.get(done) is not None:
        logger.info("job %s was answered already: not answered again", job.id)
        return
    functions.run(job)
    store.set(done, b"1", DONE_TTL_SECONDS)
