"""One OS process of the two-process single-flight test: `python -m tests.support.flight_worker URL PREFIX KEY N`.

It runs N threads asking `SingleFlight` for KEY through a `RedisStore`, and prints one JSON line: the roles
its threads got and the values they saw. Its producer counts itself in Redis (`<PREFIX>test:produced`) and
then holds on until the other process is waiting for this flight (`<PREFIX>test:waiting`, set by a store that
notices a wait for a flight's marker), so that the other process really follows rather than finding the value
already cached.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import redis

from bot.store.redis import RedisStore
from bot.store.single_flight import SingleFlight

WAIT_SECONDS = 20.0


class SignallingStore(RedisStore):
    def __init__(self, url: str, prefix: str, raw: redis.Redis) -> None:
        super().__init__(url, prefix)
        self._raw = raw

    def wait_for(self, key: str, timeout: float) -> bytes | None:
        if "#done:" in key:
            self._raw.set(f"{self.prefix}test:waiting", b"1", ex=60)
        return super().wait_for(key, timeout)


def main(url: str, prefix: str, key: str, threads: int) -> None:
    raw = redis.Redis.from_url(url)
    store = SignallingStore(url, prefix, raw)
    flight = SingleFlight(store, check_interval_seconds=0.05)

    def produce() -> bytes:
        raw.incr(f"{prefix}test:produced")
        deadline = time.monotonic() + WAIT_SECONDS
        while not raw.exists(f"{prefix}test:waiting") and time.monotonic() < deadline:
            time.sleep(0.005)
        return b"the value"

    roles: list[str] = []
    values: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        try:
            result = flight.run(key, produce, ttl_seconds=60, deadline=time.monotonic() + WAIT_SECONDS)
        except Exception as error:
            with lock:
                errors.append(repr(error))
            return
        with lock:
            roles.append(result.role.value)
            values.append(result.value.decode())

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"roles": roles, "values": values, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
