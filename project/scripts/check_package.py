"""Install a packaged pipeline into a fresh venv and load it with `spacy.load`.

This is what a user does: install torch (the local CPU build, pinned, so pip never
pulls a CUDA build), spacy-globalpointer, then the pipeline wheel. The pipeline must
load through the entry points alone, so the check asserts that
`spacy_globalpointer` was not imported before `spacy.load`.
"""
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

LOAD_CHECK = """
import sys
import spacy
assert "spacy_globalpointer" not in sys.modules, "imported before spacy.load"
nlp = spacy.load({name!r})
doc = nlp({text!r})
spans = doc.spans[{spans_key!r}]
print("pipeline:", nlp.pipe_names)
print("spans:", [(sp.text, sp.label_) for sp in spans])
print("scores:", list(spans.attrs.get("scores", [])))
"""


def run(cmd: List[str]) -> None:
    msg.text(f"$ {' '.join(cmd)}")
    result = subprocess.run(cmd)
    if result.returncode != 0:
        msg.fail(f"Command failed with exit code {result.returncode}: {' '.join(cmd)}", exits=1)


def main(
    # fmt: off
    wheel: Path = typer.Argument(..., help="Pipeline wheel built by spacy package", exists=True, dir_okay=False),
    name: str = typer.Option(..., "--name", help="Package name to spacy.load, e.g. en_globalpointer_sample"),
    repo: Path = typer.Option(Path(".."), "--repo", help="spacy-globalpointer source tree to pip install", exists=True, file_okay=False),
    torch: str = typer.Option("torch==2.13.0", "--torch", help="Torch requirement installed first"),
    spans_key: str = typer.Option("sc", "--spans-key", "-k", help="Key in doc.spans to print"),
    text: str = typer.Option("Mayor of Lisbon Ana Ferreira opened the University of Porto Medical School on 3 May 2021.", "--text", help="Text to run the pipeline on"),
    venv: Optional[Path] = typer.Option(None, "--venv", help="Create the venv here and keep it (default: a temporary directory)"),
    # fmt: on
) -> None:
    """Create a venv, install torch, spacy-globalpointer from REPO and WHEEL, then load NAME."""
    with tempfile.TemporaryDirectory(prefix="gp-check-") as tmp:
        venv_dir = venv or Path(tmp) / "venv"
        run([sys.executable, "-m", "venv", "--clear", str(venv_dir)])
        python = str(venv_dir / "bin" / "python")
        run([python, "-m", "pip", "install", torch])
        run([python, "-m", "pip", "install", str(repo.resolve())])
        run([python, "-m", "pip", "install", str(wheel.resolve())])
        run([python, "-c", "import torch; print('torch', torch.__version__)"])
        run([python, "-c", LOAD_CHECK.format(name=name, text=text, spans_key=spans_key)])
    msg.good(f"{wheel.name} installs into a fresh venv and loads with spacy.load({name!r})")


if __name__ == "__main__":
    typer.run(main)
