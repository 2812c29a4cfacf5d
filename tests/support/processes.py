"""The Procfile's processes, started as the platform starts them (from another directory, PATH first), and told
ready by what they write on stderr rather than by polling them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.pipes import Output
from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]  # the repository: tests/support/ is two below it
BIN = Path(sys.executable).parent
START_SECONDS = 20.0
# What each process logs once it is ready: one uvicorn process once its socket listens (with WEB_CONCURRENCY > 1,
# the supervisor once it has bound the socket its processes will listen on), a worker once it takes jobs.
WEB_READY = "Uvicorn running on"
WORKER_READY = "jobs at a time"


def procfile_line(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} process in the Procfile")


def procfile_env(**env: str) -> dict[str, str]:
    # The platform runs Procfile lines with a shell whose PATH has the app's environment first.
    return {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env}


@dataclass
class Web:
    """A started process: `web` (with its `base` URL and `port`) or a `worker` (base "" and port 0)."""

    process: subprocess.Popen[bytes]
    base: str
    port: int
    output: Output
    supervised: bool = False  # WEB_CONCURRENCY > 1: a supervisor of uvicorn processes

    def stderr(self) -> str:
        return self.output.text()

    def wait_for_line(self, text: str, timeout: float = START_SECONDS) -> None:
        self.output.wait_for(text, timeout)

    def ready(self) -> Web:
        """Wait until the process says it is ready; the process itself, for chaining."""
        try:
            self.output.wait_for(WEB_READY if self.port else WORKER_READY, START_SECONDS)
            if self.port and self.supervised:
                self._wait_listening()
        except AssertionError:
            self.process.kill()
            self.process.wait(5)
            raise
        return self

    def _wait_listening(self) -> None:
        """The one wait here with no signal to wait on: a supervisor's processes log nothing when they listen (their
        uvicorn logs at WARNING). Until one does, a connection to the bound socket is refused at once; try again
        when the supervisor ends or 20 ms on."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=START_SECONDS).close()
                return
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise AssertionError("no web process listened: " + self.stderr()) from None
            with contextlib.suppress(subprocess.TimeoutExpired):
                raise AssertionError(f"web ended with {self.process.wait(0.02)}: {self.stderr()}")


def _spawn(line: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], Output]:
    process = subprocess.Popen(
        ["sh", "-c", "exec " + procfile_line(line)],
        cwd=cwd,  # not the source tree
        env=procfile_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own: `discard_all` ends it with whatever it started
    )
    assert process.stderr is not None
    return process, Output(process.stderr)


def launch_web(env: dict[str, str], cwd: Path) -> Web:
    """The Procfile's `web` on a free port, started but not yet ready: call `.ready()`."""
    port = free_port()
    process, output = _spawn("web", {**env, "PORT": str(port)}, cwd)
    supervised = int(env.get("WEB_CONCURRENCY", "1") or "1") > 1
    return Web(process, f"http://127.0.0.1:{port}", port, output, supervised)


def launch_worker(env: dict[str, str], cwd: Path) -> Web:
    """The Procfile's `worker`, started but not yet ready: call `.ready()`."""
    process, output = _spawn("worker", env, cwd)
    return Web(process, "", 0, output)


def start_web(env: dict[str, str], tmp_path: Path) -> Web:
    return launch_web(env, tmp_path).ready()


def start_worker(env: dict[str, str], tmp_path: Path) -> Web:
    """The Procfile's `worker`, returned once it takes jobs."""
    return launch_worker(env, tmp_path).ready()


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_all([process])


def stop_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM them all at once, then wait for each: they shut down side by side, not one after another."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def discard_all(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """End them and everything they started (SIGKILL to each one's process group), for a test's clean-up: how they
    shut down is the business of the tests that SIGTERM them; waiting for it here only makes every test longer."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:  # not yet reaped: its pid, and so its group's id, is still this process's
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(10)
