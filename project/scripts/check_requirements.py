"""Check that a packaged pipeline's meta.json requires the packages its config uses.

`spacy package` finds third-party requirements by looking up which installed
distribution registered each function in the config. If spacy-globalpointer is not
installed as a distribution (e.g. only on PYTHONPATH), the wheel would install but
fail to load with "no factory 'globalpointer'". Fail here instead.
"""
from pathlib import Path
from typing import List

import srsly
import typer
from wasabi import msg


def main(
    # fmt: off
    meta_path: Path = typer.Argument(..., help="meta.json of the package directory", exists=True, dir_okay=False),
    required: List[str] = typer.Argument(..., help="Distribution names that must be in 'requirements'"),
    # fmt: on
) -> None:
    """Exit with an error if META_PATH's requirements lack any of REQUIRED."""
    meta = srsly.read_json(meta_path)
    requirements = meta.get("requirements", [])
    names = {_dist_name(req) for req in requirements}
    missing = [name for name in required if _normalize(name) not in names]
    if missing:
        msg.fail(
            f"{meta_path}: requirements {requirements} lack {', '.join(missing)}",
            "Install spacy-globalpointer as a package (pip install -e <repo root>) so "
            "`spacy package` can map the 'globalpointer' factory to its distribution.",
            exits=1,
        )
    msg.good(f"{meta_path}: requirements {requirements}")


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-")


def _dist_name(requirement: str) -> str:
    for i, char in enumerate(requirement):
        if char in "<>=!~;[ ":
            return _normalize(requirement[:i])
    return _normalize(requirement)


if __name__ == "__main__":
    typer.run(main)
