"""Coded errors for saved components that cannot be loaded.

A component folder holds `cfg` (labels and settings; the head is rebuilt from
its labels and input width before any weight is read) and `model` (the
weights). Without these checks a deleted `cfg` surfaces as thinc's "Cannot
deserialize model: mismatched structure" and a truncated `model` as msgpack's
"Unpack failed: incomplete input", neither naming the component or the file.
`PairComponent.from_disk` / `from_bytes` read through the helpers here, which
raise E150 (file missing), E151 (file unreadable) or E152 (bytes unreadable),
naming both, and chain the original error.
"""
import pickle
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Optional, Union

import srsly

from ..errors import Errors

# What thinc, srsly's msgpack / JSON and torch raise on damaged input
# ("mismatched structure", "Unpack failed: incomplete input", ExtraData,
# "unhashable type", a truncated torch pickle, ...).
LOAD_ERRORS = (ValueError, TypeError, KeyError, IndexError, EOFError, RuntimeError, pickle.UnpicklingError)

WHY_NEEDED = {
    "cfg": (
        "That file holds the component's labels and settings, from which its head "
        "is rebuilt before the weights in 'model' can be read."
    ),
    "model": "That file holds the component's trained weights.",
}


def read_saved_cfg(component: Any, path: Union[str, Path], exclude: Iterable[str]) -> Optional[Dict[str, Any]]:
    """The cfg saved in a component folder (None when excluded); E150 when
    cfg or model is missing, E151 when cfg cannot be read."""
    path = Path(path)
    exclude = set(exclude)
    for file in ("cfg", "model"):
        if file not in exclude and not (path / file).exists():
            raise ValueError(Errors.E150.format(name=component.name, path=path / file, why=WHY_NEEDED[file]))
    if "cfg" in exclude:
        return None
    try:
        cfg = srsly.read_json(path / "cfg")
    except LOAD_ERRORS as err:
        raise ValueError(Errors.E151.format(name=component.name, path=path / "cfg", error=_describe(err), hint="")) from err
    if not isinstance(cfg, dict):
        error = f"a JSON {type(cfg).__name__}, not an object"
        raise ValueError(Errors.E151.format(name=component.name, path=path / "cfg", error=error, hint=""))
    return cfg


def read_saved_cfg_bytes(component: Any, bytes_data: bytes, exclude: Iterable[str]) -> Optional[Dict[str, Any]]:
    """The cfg inside a component's `to_bytes()` (None when excluded or absent); E152."""
    try:
        msg = srsly.msgpack_loads(bytes_data)
    except LOAD_ERRORS as err:
        raise ValueError(
            Errors.E152.format(name=component.name, what="the data is not what `to_bytes()` wrote", error=_describe(err), hint="")
        ) from err
    if not isinstance(msg, dict):
        error = f"a {type(msg).__name__}, not a mapping"
        raise ValueError(Errors.E152.format(name=component.name, what="the data is not what `to_bytes()` wrote", error=error, hint=""))
    if "cfg" in exclude or "cfg" not in msg:
        return None
    try:
        cfg = srsly.json_loads(msg["cfg"])
    except LOAD_ERRORS as err:
        raise ValueError(
            Errors.E152.format(name=component.name, what="its 'cfg' part cannot be read", error=_describe(err), hint="")
        ) from err
    if not isinstance(cfg, dict):
        error = f"a JSON {type(cfg).__name__}, not an object"
        raise ValueError(Errors.E152.format(name=component.name, what="its 'cfg' part cannot be read", error=error, hint=""))
    return cfg


@contextmanager
def loading_weights(component: Any, path: Optional[Union[str, Path]] = None) -> Iterator[None]:
    """Around TrainablePipe.from_disk (path given) or from_bytes (path None):
    a failure to read the weights becomes E151 / E152."""
    try:
        yield
    except LOAD_ERRORS as err:
        hint = (
            f"The head was rebuilt from the saved cfg ({len(component.labels)} labels, input "
            f"width nI={component.cfg.get('nI')}) before the weights were read; a cfg and "
            "a model from different components or trainings do not fit. "
        )
        if path is not None:
            error = Errors.E151.format(name=component.name, path=Path(path) / "model", error=_describe(err), hint=hint)
        else:
            error = Errors.E152.format(
                name=component.name, what="its 'model' part (the weights) cannot be read", error=_describe(err), hint=hint
            )
        raise ValueError(error) from err


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"
