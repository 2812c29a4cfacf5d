"""What a child process writes to a pipe, read as it is written and waited on line by line."""

from __future__ import annotations

import os
import selectors
import threading
import time
from typing import IO


class Output:
    """A child's stdout or stderr, read as it is written, so that the pipe never fills and stalls the child.

    `text()` reads what is in the pipe before it answers: what the child had written when it was called is in it,
    as it was when the child wrote to a file. `wait_for(text)` waits on the pipe itself, not on a timer.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._fd = stream.fileno()
        os.set_blocking(self._fd, False)
        self._data = bytearray()
        self._ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, name="output-pump", daemon=True).start()

    def _read_what_is_there(self) -> None:
        """With `_changed` held: move what the pipe holds into `_data`."""
        while not self._ended:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self._ended = True  # every writer has closed its end: the process and any children are gone
            self._data += chunk
        self._changed.notify_all()

    def _pump(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while True:
                selector.select()
                with self._changed:
                    self._read_what_is_there()
                    if self._ended:
                        break
        self._stream.close()  # only here, once ended: `text()` reads no more after that

    def text(self) -> str:
        with self._changed:
            self._read_what_is_there()
            return self._data.decode(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        """Until the child has written `text`; fails if it ends, or takes longer than `timeout`, without it."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in self._data:
                remaining = deadline - time.monotonic()
                if self._ended or remaining <= 0:
                    said = self._data.decode(errors="replace")
                    raise AssertionError(f"no {text!r} written ({'ended' if self._ended else 'timed out'}):\n{said}")
                self._changed.wait(remaining)
