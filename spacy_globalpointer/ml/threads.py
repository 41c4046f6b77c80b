"""How many torch threads the heads use, and giving the caller's back.

torch's default intra-op thread pool (one thread per core) spin-waits at every
parallel region for its slowest thread. When another process holds a core,
that thread is often descheduled and every region waits out a time slice: on a
2-core machine a 30,000-token doc took 18 s with the default 2 threads beside
another torch process, against 2-3 s with one thread, while one thread costs
nothing on an idle machine (1.62 s against 1.56 s with 2 threads; the heads'
band products are too small to gain from a second thread). spaCy's own CPU
components are single-threaded and scale with `nlp.pipe(n_process=...)`.

The components therefore run their torch work with `torch_threads` threads
(default 1) and restore the caller's setting afterwards (about 6 microseconds
a call); `torch_threads = null` leaves torch's setting alone (e.g. on GPU,
where it does not matter, or to use every core of an idle machine).
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch


@contextmanager
def torch_threads(n_threads: Optional[int]) -> Iterator[None]:
    """Run the block with torch set to `n_threads` intra-op threads (None: unchanged)."""
    previous = torch.get_num_threads()
    if n_threads is None or n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
