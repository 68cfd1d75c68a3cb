"""A watchdog per cell: a cell that runs past its limit ends the run, naming the cell.

A framework can hang inside its own C++ (jaxlib 0.10.2 deadlocked in about 2 of 3 batched Flax
``LSTMCell`` inits on a 2-core CPU until ``XLA_FLAGS`` turned off its concurrency-optimised
scheduler). A hung cell must fail the run with its id, not hold a CI job until the job's own
limit kills it with nothing said. The timer runs in a thread of its own, so it fires even while
the sampling thread waits inside native code; it writes to a copy of stderr taken before pytest
captures the output, then ends the process (a hung native call cannot be interrupted).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Default limit for one cell, in seconds. The slowest cells of a full run are porting recipes of
#: MLX's RNN biases (hidden_size 4096) into Keras, whose orthogonal recurrent kernel costs a
#: 4096-wide QR per instance: more than 15 min each on 2 busy cores. A hang is an hour.
DEFAULT_CELL_TIMEOUT = 3600.0
EXIT_HUNG = 3  # an adapter or environment error (initspec.cli's exit codes)


def _end_process(message: str, stream: int) -> None:
    os.write(stream, (message + "\n").encode())
    os._exit(EXIT_HUNG)


class CellWatchdog:
    """``with dog.watch(cell_id):`` around one cell's sampling and checks.

    ``limit`` <= 0 disables it. ``on_hang(message)`` is called from the timer thread; by default
    it writes the message to the stderr the process had when the watchdog was made and exits
    with code 3.
    """

    def __init__(self, limit: float = DEFAULT_CELL_TIMEOUT,
                 on_hang: Callable[[str], None] | None = None):
        self.limit = limit
        if on_hang is None:
            stream = os.dup(sys.stderr.fileno())  # before pytest's capture replaces fd 2
            on_hang = lambda message: _end_process(message, stream)  # noqa: E731
        self.on_hang = on_hang

    @contextmanager
    def watch(self, cell_id: str) -> Iterator[None]:
        if self.limit <= 0:
            yield
            return
        message = (f"initspec: error: cell {cell_id} ran past --cell-timeout {self.limit:g} s "
                   "(hung in the framework?): the run is stopped, no results written")
        timer = threading.Timer(self.limit, self.on_hang, args=(message,))
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
