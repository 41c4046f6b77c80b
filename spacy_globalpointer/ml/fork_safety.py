"""Keep `nlp.pipe(..., n_process=N)` from hanging in forked workers.

spaCy's multiprocessing forks worker processes. If the parent has already run
a torch op on its OpenMP thread pool, the pool does not survive the fork and
the child's first parallel op waits forever (the classic OpenMP-after-fork
deadlock). A forked child therefore runs torch on one intra-op thread, as
PyTorch's own DataLoader workers do; with N workers that is also the right
number of threads per worker.
"""
import os

import torch

_REGISTERED = False


def use_one_thread_in_forked_children() -> None:
    global _REGISTERED
    if not _REGISTERED and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: torch.set_num_threads(1))
        _REGISTERED = True
