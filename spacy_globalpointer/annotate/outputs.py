"""The output directory: shards written atomically, the manifest, resumption.

Layout of `--output DIR`:

- `manifest.json`: the model's fingerprint, the options that decide the
  records, and the shard plan. A rerun with other settings is refused (E100)
  unless `overwrite` is set.
- `part-NNNNN.{jsonl,parquet,spacy}`: one output shard per input shard.
- `_state/part-NNNNN.json`: written after its shard's output, and only then:
  the shard's counts and failed records. A shard is done when both files
  exist, so a run killed at any point and rerun redoes the unfinished shards
  only, and every input record ends up exactly once in an output shard or in
  the errors file.
- `errors.jsonl`: every failed record (file, line, id, reason), rebuilt from
  the shard states at the end of each run.
- `summary.json`: the run's summary.

Every file is written under a temporary name and renamed into place
(`os.replace` is atomic on one file system), so no reader and no rerun ever
sees a half-written file.
"""
import hashlib
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

from spacy.tokens import Doc, DocBin

from ..errors import Errors
from .inputs import Failure, Item, Shard
from .records import ID_KEY, doc_to_record, parquet_schema

OUTPUT_FORMATS = ("jsonl", "parquet", "docbin")
SUFFIX = {"jsonl": ".jsonl", "parquet": ".parquet", "docbin": ".spacy"}
MANIFEST = "manifest.json"
STATE_DIR = "_state"
ERRORS = "errors.jsonl"
SUMMARY = "summary.json"


def atomic_write(path: Path, data: Union[bytes, str]) -> None:
    """Write `data` to `path` through a temporary file in the same folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data.encode("utf8") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def shard_path(output: Path, shard: Shard, fmt: str) -> Path:
    return output / (shard.name + SUFFIX[fmt])


def state_path(output: Path, shard: Shard) -> Path:
    return output / STATE_DIR / (shard.name + ".json")


class ShardWriter:
    """Collects one shard's output and failures; `commit` writes them atomically.

    JSONL records stream to a temporary file; Parquet and DocBin shards are
    built in memory (one shard at a time) and written at the end.
    """

    def __init__(self, output: Path, shard: Shard, fmt: str, include_text: bool = True):
        self.shard = shard
        self.fmt = fmt
        self.include_text = include_text
        self.path = shard_path(output, shard, fmt)
        self.state = state_path(output, shard)
        self.failures: List[Dict[str, Any]] = []
        self.written = 0
        self.words = 0
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._jsonl = open(self._tmp, "w", encoding="utf8") if fmt == "jsonl" else None
        self._rows: List[Dict[str, Any]] = []
        self._docbin = DocBin(store_user_data=True) if fmt == "docbin" else None

    def add(self, doc: Doc, item: Item) -> None:
        self.written += 1
        self.words += sum(not token.is_space for token in doc)
        if self._docbin is not None:
            doc.user_data[ID_KEY] = item.id
            self._docbin.add(doc)
            return
        record = doc_to_record(doc, item.id, self.shard.file, item.line, self.include_text)
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self._rows.append(record)

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure.to_dict())

    def commit(self, seconds: float) -> Dict[str, Any]:
        """Write the shard, then its state; RETURNS the state (counts, failures)."""
        if self._jsonl is not None:
            self._jsonl.flush()
            os.fsync(self._jsonl.fileno())
            self._jsonl.close()
            os.replace(self._tmp, self.path)
        elif self._docbin is not None:
            atomic_write(self.path, self._docbin.to_bytes())
        else:
            pa, pq = _pyarrow()
            table = pa.Table.from_pylist(self._rows, schema=parquet_schema(self.include_text))
            pq.write_table(table, self._tmp)
            os.replace(self._tmp, self.path)
        state = {
            "shard": self.shard.to_dict(),
            "output": self.path.name,
            "records_in": self.shard.stop - self.shard.start,
            "written": self.written,
            "failed": len(self.failures),
            "words": self.words,
            "seconds": round(seconds, 3),
            "pid": os.getpid(),
            "peak_rss_mb": peak_rss_mb(),
            "errors": self.failures,
        }
        self.state.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.state, json.dumps(state, ensure_ascii=False, indent=1))
        return state

    def abort(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        self._tmp.unlink(missing_ok=True)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def read_state(output: Path, shard: Shard, fmt: str) -> Optional[Dict[str, Any]]:
    """The shard's state if it is done (state and output both present), else None."""
    state = state_path(output, shard)
    if not (state.exists() and shard_path(output, shard, fmt).exists()):
        return None
    return json.loads(state.read_text(encoding="utf8"))


def model_fingerprint(path: Path) -> Dict[str, Any]:
    """What identifies a model directory: its meta (name, version, pipeline) and a
    hash of its config, meta and every file's path and size (cheap for big weights,
    and any retraining changes meta.json's scores)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        digest.update(f"{rel}\0{file.stat().st_size}\0".encode("utf8"))
        if rel in ("config.cfg", "meta.json"):
            digest.update(file.read_bytes())
    meta = json.loads((path / "meta.json").read_text(encoding="utf8")) if (path / "meta.json").exists() else {}
    return {
        "path": str(path.resolve()),
        "name": f"{meta.get('lang', '')}_{meta.get('name', '')}",
        "version": meta.get("version"),
        "pipeline": meta.get("pipeline"),
        "sha256": digest.hexdigest(),
    }


def prepare_output(output: Path, manifest: Dict[str, Any], overwrite: bool) -> None:
    """Create the directory, or check that an existing one was written with the
    same manifest (E100 if not); with `overwrite`, remove what an earlier run wrote."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / MANIFEST
    if path.exists():
        old = json.loads(path.read_text(encoding="utf8"))
        if old != manifest:
            if not overwrite:
                changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
                for key in ("model", "options"):
                    if key in changed:
                        sub = set(old.get(key) or {}) | set(manifest.get(key) or {})
                        changed += [f"{key}.{k}" for k in sorted(sub) if (old.get(key) or {}).get(k) != manifest[key].get(k)]
                raise ValueError(Errors.E100.format(output=output, changed=", ".join(changed)))
            clear_output(output)
    elif overwrite:
        clear_output(output)
    # Temporary files of a run that was killed before it could rename them.
    for stale in output.glob(".part-*.tmp-*"):
        stale.unlink()
    atomic_write(path, json.dumps(manifest, ensure_ascii=False, indent=1))


def clear_output(output: Path) -> None:
    """Remove the files an annotate run writes (nothing else in the folder)."""
    for pattern in ("part-*", ".part-*", f"{STATE_DIR}/*", MANIFEST, ERRORS, SUMMARY):
        for path in output.glob(pattern):
            if path.is_file():
                path.unlink()


def finish_output(output: Path, states: Iterable[Dict[str, Any]], summary: Dict[str, Any]) -> None:
    """Rebuild errors.jsonl from the shard states and write summary.json."""
    lines = [json.dumps(e, ensure_ascii=False) + "\n" for s in states for e in s["errors"]]
    atomic_write(output / ERRORS, "".join(lines))
    atomic_write(output / SUMMARY, json.dumps(summary, indent=1))


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError(Errors.E103.format(what="--format parquet", package="pyarrow")) from e
    return pa, pq
