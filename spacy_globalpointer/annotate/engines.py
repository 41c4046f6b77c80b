"""The engines: run `annotate_shard` over the pending shards, locally or on Ray.

Both engines do the same thing: each worker loads the model once, sets its
torch threads (and takes a GPU with `spacy.require_gpu()` when it has one),
then annotates whole shards: it reads its own input records and writes its own
output shard. Nothing but shard descriptions and counts crosses between
processes, so the parent never ships Docs back and forth (what makes
`nlp.pipe(n_process=2)` slower than one process on two cores), no numpy array
travels through Ray's object store (spaCy issue #13506: such arrays are
read-only), and the two engines write the same bytes as one process would.

- `local`: the shards run in this process (`workers=1`) or in a
  `ProcessPoolExecutor` of `workers` spawned processes.
- `ray`: `ray.data.from_items(shards).map_batches(ShardAnnotator, concurrency=workers)`,
  an actor pool, on a local Ray or the cluster at `address` / `RAY_ADDRESS`.
  On a cluster, INPUT and --output must be paths every node can read and write
  (a shared file system), and spacy-globalpointer and the model must be
  installed on every node.
"""
import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from ..errors import Errors
from .inputs import Failure, Item, Shard, read_shard
from .outputs import ShardWriter

ENGINES = ("local", "ray")
# Progress callback: (records done, words done), called after each batch or shard.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Settings:
    """What every worker needs (picklable, small)."""

    model: str
    output: str
    format: str = "jsonl"
    text_field: str = "text"
    id_field: Optional[str] = "id"
    max_chars: Optional[int] = None
    include_text: bool = True
    batch_size: int = 64
    threads: int = 1
    gpus_per_worker: float = 0.0


def load_model(settings: Settings):
    """Load the pipeline once per worker, on a GPU if the worker has one."""
    import spacy
    import torch

    torch.set_num_threads(settings.threads)
    if settings.gpus_per_worker > 0:
        spacy.require_gpu()
    return spacy.load(settings.model)


def annotate_shard(nlp, shard: Shard, settings: Settings, progress: Optional[Progress] = None) -> Dict[str, Any]:
    """Annotate one shard and write its output and state atomically.

    RETURNS (Dict[str, Any]): the shard's state (counts, failures).
    """
    start = time.perf_counter()
    writer = ShardWriter(Path(settings.output), shard, settings.format, settings.include_text)
    try:
        batch: List[Item] = []
        seen = 0  # records read since the last progress report
        for entry in read_shard(shard, settings.text_field, settings.id_field, settings.max_chars):
            seen += 1
            if isinstance(entry, Failure):
                writer.fail(entry)
                continue
            batch.append(entry)
            if len(batch) >= settings.batch_size:
                words = _annotate_batch(nlp, batch, writer)
                if progress is not None:
                    progress(seen, words)
                batch, seen = [], 0
        words = _annotate_batch(nlp, batch, writer) if batch else 0
        if progress is not None and seen:
            progress(seen, words)
    except BaseException:
        writer.abort()
        raise
    return writer.commit(time.perf_counter() - start)


def _annotate_batch(nlp, batch: List[Item], writer: ShardWriter) -> int:
    """Annotate and add a batch; RETURNS (int): the words added."""
    words_before = writer.words
    try:
        docs = list(nlp.pipe([item.text for item in batch], batch_size=len(batch)))
    except Exception:
        # One bad document must not cost the others: redo the batch one by one
        # and send what still fails to the errors file, with the exception.
        docs = []
        for item in batch:
            try:
                docs.append(nlp(item.text))
            except Exception as e:  # noqa: BLE001 - recorded, counted, reported
                docs.append(None)
                writer.fail(Failure(writer.shard.file, item.line, item.id, f"pipeline error: {type(e).__name__}: {e}"))
    for doc, item in zip(docs, batch):
        if doc is not None:
            writer.add(doc, item)
    return writer.words - words_before


# ---------------------------------------------------------------------------
# local


_WORKER: Dict[str, Any] = {}


def _init_worker(settings: Settings, queue) -> None:
    _WORKER["nlp"] = load_model(settings)
    _WORKER["settings"] = settings
    _WORKER["queue"] = queue


def _run_in_worker(shard: Shard) -> Dict[str, Any]:
    queue = _WORKER["queue"]
    return annotate_shard(_WORKER["nlp"], shard, _WORKER["settings"], lambda n, w: queue.put((n, w)))


def run_local(
    shards: Sequence[Shard], settings: Settings, workers: int = 1, progress: Optional[Progress] = None
) -> Iterator[Dict[str, Any]]:
    """Annotate the shards with `workers` processes; yield each shard's state as it finishes."""
    if not shards:
        return
    if workers == 1:
        nlp = load_model(settings)
        for shard in shards:
            yield annotate_shard(nlp, shard, settings, progress)
        return
    # spawn, not fork: a forked torch (OpenMP) or CUDA state is not safe to reuse.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    with ProcessPoolExecutor(
        max_workers=min(workers, len(shards)), mp_context=context,
        initializer=_init_worker, initargs=(settings, queue),
    ) as pool:
        futures = {pool.submit(_run_in_worker, shard): shard for shard in shards}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        shard = futures[future]
                        raise RuntimeError(Errors.E104.format(shard=shard.name, file=shard.file, error=error)) from error
                    yield future.result()
        except BaseException:
            # Stop handing out shards; the running ones finish and are kept.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        _drain(queue, progress)


def _drain(queue, progress: Optional[Progress]) -> None:
    import queue as queue_module

    while True:
        try:
            n, words = queue.get_nowait()
        except queue_module.Empty:
            return
        if progress is not None:
            progress(n, words)


# ---------------------------------------------------------------------------
# ray


class ShardAnnotator:
    """Ray Data callable class: one per actor, the model loaded once in `__init__`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.nlp = load_model(settings)

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[str]]:
        states = []
        for description in batch["shard"]:
            shard = Shard(**json.loads(str(description)))
            states.append(json.dumps(annotate_shard(self.nlp, shard, self.settings)))
        return {"state": states}


def run_ray(
    shards: Sequence[Shard], settings: Settings, workers: int = 1,
    address: Optional[str] = None, progress: Optional[Progress] = None,
) -> Iterator[Dict[str, Any]]:
    """Annotate the shards with an actor pool of `workers` on Ray; yield each shard's state."""
    if not shards:
        return
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise ImportError(Errors.E103.format(what="--engine ray", package="ray[data]")) from e
    started = not ray.is_initialized()
    if started:
        # address None: RAY_ADDRESS if set, else a local Ray on this machine.
        ray.init(address=address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours counts records and words
        context.print_on_execution_start = False
        dataset = ray.data.from_items(
            [{"shard": json.dumps(shard.to_dict())} for shard in shards], override_num_blocks=len(shards)
        )
        dataset = dataset.map_batches(
            ShardAnnotator,
            fn_constructor_args=(settings,),
            batch_size=1,
            concurrency=min(workers, len(shards)),
            num_cpus=settings.threads,
            num_gpus=settings.gpus_per_worker or None,
        )
        for row in dataset.iter_rows():
            state = json.loads(str(row["state"]))
            if progress is not None:
                progress(state["records_in"], state["words"])
            yield state
    finally:
        if started:
            ray.shutdown()
