"""A real `redis-server` on a free 127.0.0.1 port, for the store tests, and the session fixture that runs one.

The tests need the `redis-server` binary (Debian: `apt-get install redis-server`; CI installs it). Without it
they fail with a message that says so; they are never skipped.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.support.pipes import Output

START_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """`start()` runs redis-server without persistence; `stop()` ends it; `start()` again reuses the port."""

    def __init__(self, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed: the store tests run against a real Redis. "
                "Install it (Debian: apt-get install redis-server) — .ci/run does this in CI.",
                pytrace=False,
            )
        self.binary = binary
        self.password = password
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self.output: Output | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", "",  # stdout: read for the line that says it is ready
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self._process.stdout is not None
        self.output = Output(self._process.stdout)
        try:
            self.output.wait_for("Ready to accept connections", START_SECONDS)
        except AssertionError as error:
            self.stop()
            pytest.fail(f"redis-server did not start on port {self.port}: {error}", pytrace=False)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def until_redis_sees(url: str, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Until `condition()` holds, checked again after each command Redis runs: for what the processes under test
    show only through Redis, or through a /healthz that reads it (web's watch refreshes queue depth and live
    workers from Redis once a second, so its own reads are the signal that /healthz may have changed)."""
    with redis.Redis.from_url(url, socket_timeout=timeout) as client, client.monitor() as monitor:
        deadline = time.monotonic() + timeout  # MONITOR is on: no command from here on goes unseen
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not so within {timeout} s")
            try:
                monitor.next_command()
                while monitor.connection.can_read(timeout=0):  # a burst of commands: one check after it
                    monitor.next_command()
            except redis.TimeoutError:
                raise AssertionError(f"Redis ran no command for {timeout} s") from None


@contextlib.contextmanager
def running_redis(password: str | None = None) -> Iterator[RedisServer]:
    server = RedisServer(password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def session_redis() -> Iterator[RedisServer]:
    """One Redis for the whole session (for each xdist worker), with a password (so every test's URL carries one)."""
    with running_redis(password="test-password-7f3a") as server:
        yield server


@pytest.fixture
def redis_server(session_redis: RedisServer) -> RedisServer:
    """The session's Redis, emptied for this test: nothing an earlier test cached or queued is seen."""
    with redis.Redis.from_url(session_redis.url) as client:
        client.flushall()
    return session_redis
