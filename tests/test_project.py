"""Project test: the `all` workflow on the shipped sample, and the sample itself.

The workflow runs once per module in a copy of project/ (so the repo's project
folder gets no outputs), exactly as the READMEs tell a reader to run it
(`python -m spacy project run all project`, default steps, through the CLI so
that threads and environment are a reader's): it checks that every command runs
and writes what it promises, and that the figures the READMEs quote for it
(between `<!-- figures: WORKFLOW METRICS_JSON -->` markers) are what it scores.
"""
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
import srsly
from weasel.util import load_project_config

from spacy_globalpointer.convert import convert

PROJECT_DIR = Path(__file__).parent.parent / "project"
GENERATED = ("corpus", "training", "training-trf", "training-relations", "training-events", "training-gpu-check", "metrics", "visualize", "packages")
LABELS = ("DATE", "LOC", "ORG", "PER", "PRODUCT")
SAMPLE_FILES = ("sample_train.jsonl", "sample_dev.jsonl")


def copy_project(dest: Path) -> Path:
    root = dest / "project"
    shutil.copytree(
        PROJECT_DIR, root, ignore=shutil.ignore_patterns(*GENERATED, "project.lock", "__pycache__")
    )
    return root


READMES = (PROJECT_DIR.parent / "README.md", PROJECT_DIR / "README.md")
FIGURES = re.compile(r"^<!-- figures: (\S+) (\S+) -->\n(.*?)^<!-- /figures -->", re.M | re.S)


def run_workflow(root: Path, workflow: str) -> Path:
    """Run a workflow of the project copy at `root` as the READMEs show it:
    `python -m spacy project run WORKFLOW project` from the folder above."""
    assert importlib.util.find_spec("build") or importlib.util.find_spec("wheel"), (
        "`spacy package --build wheel` needs the 'build' package: pip install build"
    )
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", workflow, root.name],
        cwd=root.parent, capture_output=True, text=True, encoding="utf8",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def readme_figures(workflow: str) -> List[Tuple[str, str, str, str]]:
    """(README, metrics file, metric key, figure as quoted) of each figure the
    READMEs quote for `workflow`: table rows `| what `key` | P | R | F |` between
    `<!-- figures: WORKFLOW METRICS_JSON -->` and `<!-- /figures -->`; a key
    `a.b` is metrics["a"]["b"]."""
    figures = []
    for readme in READMES:
        for match in FIGURES.finditer(readme.read_text(encoding="utf8")):
            if match.group(1) != workflow:
                continue
            for row in match.group(3).splitlines()[2:]:
                cells = [c.strip() for c in row.strip("|").split("|")]
                key = re.search(r"`([^`]+)`", cells[0]).group(1)
                for name, figure in zip("prf", cells[1:]):
                    figures.append((str(readme.relative_to(PROJECT_DIR.parent)), match.group(2), f"{key}.{name}" if "." in key else f"{key}_{name}", figure))
    return figures


# How far a quoted 0-1 score may lie from what the run gives. The same code,
# seed and steps give other figures on CPUs with other vector kernels: from the
# machine they were quoted on to an AVX-512 one (stop 27, no change to the
# code) the `all` sample's spans F1 moved from 0.986 to 0.980, within this, but
# the 400-step relations sample's from 0.895 to 0.859, beyond it: the tables
# are quoted from the machine CI runs on. A stale figure (other steps, other
# defaults) has been 0.02 to 0.1 off, so this still catches it.
FIGURE_TOLERANCE = 0.01


def check_readme_figures(root: Path, workflow: str) -> None:
    """Every figure the READMEs quote for `workflow` is what the run wrote,
    rounded as quoted, within FIGURE_TOLERANCE."""
    figures = readme_figures(workflow)
    assert figures, f"no <!-- figures: {workflow} ... --> table in the READMEs"
    wrong = []
    for readme, metrics_file, key, quoted in figures:
        value = json.loads((root / metrics_file).read_text(encoding="utf8"))
        for part in key.split("."):
            value = value[part]
        decimals = len(quoted.split(".")[1]) if "." in quoted else 0
        if abs(float(f"{value:.{decimals}f}") - float(quoted)) > FIGURE_TOLERANCE + 1e-9:
            wrong.append(f"{readme}: {key} is quoted as {quoted}, the run gives {value:.{decimals}f}")
    assert not wrong, "\n".join(wrong)


def load_make_sample():
    """project/scripts/make_sample.py as a module (project/scripts is no package),
    for the samples' own property checks."""
    spec = importlib.util.spec_from_file_location("make_sample", PROJECT_DIR / "scripts" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project_root(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def ran_all(project_root) -> Path:
    return run_workflow(project_root, "all")


def test_all_scores_what_the_readmes_quote(ran_all):
    check_readme_figures(ran_all, "all")


def test_all_writes_metrics_with_span_scores(ran_all):
    metrics = json.loads((ran_all / "metrics" / "metrics.json").read_text(encoding="utf8"))
    for key in ("spans_sc_f", "spans_sc_p", "spans_sc_r"):
        assert isinstance(metrics[key], float), key
    assert set(metrics["spans_sc_per_type"]) <= set(LABELS)
    table = (ran_all / "metrics" / "per_label.md").read_text(encoding="utf8")
    assert "| label | gold | predicted | P | R | F |" in table
    for label in LABELS:
        assert f"| {label} |" in table
    assert "**all (micro)**" in table


def test_all_writes_span_html_with_nested_gold(ran_all):
    html = (ran_all / "visualize" / "dev.html").read_text(encoding="utf8")
    assert 'class="spans"' in html
    assert "Doc 1: gold" in html and "Doc 1: predicted" in html
    # Docs with nested gold spans come first: displaCy draws the first gold doc's
    # span bars at two or more heights.
    first_gold = html.split("Doc 1: gold")[1].split("Doc 2:")[0]
    levels = set(re.findall(r"top: (\d+)px; height: 4px", first_gold))
    assert len(levels) >= 2, levels


def test_all_builds_wheel_requiring_our_package(ran_all):
    package_dir = ran_all / "packages" / "en_globalpointer_sample-0.0.1"
    wheels = list((package_dir / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == ["en_globalpointer_sample-0.0.1-py3-none-any.whl"]
    requirements = srsly.read_json(package_dir / "meta.json")["requirements"]
    assert any(req.startswith("spacy-globalpointer") for req in requirements), requirements
    # The packaged data loads (the venv install is the check-package command).
    data_dir = package_dir / "en_globalpointer_sample" / "en_globalpointer_sample-0.0.1"
    nlp = spacy.load(data_dir)
    assert nlp.pipe_names == ["tok2vec", "globalpointer"]
    doc = nlp("Mayor of Lisbon Ana Ferreira visited Oslo.")
    assert "sc" in doc.spans


def test_project_yml_resolves(project_root):
    config = load_project_config(project_root, overrides={"vars.max_steps": 10})
    commands = {cmd["name"]: cmd for cmd in config["commands"]}
    for name in config["workflows"]["all"] + config["workflows"]["all-gpu"]:
        assert name in commands, name
    for cmd in commands.values():
        for path in cmd.get("deps", []) + cmd.get("outputs", []) + cmd.get("outputs_no_cache", []):
            # thinc's interpolation merges adjacent "${...}"-only list items into "a, b".
            assert ", " not in path and "${" not in path, (cmd["name"], path)
        for line in cmd["script"]:
            if line.startswith("python scripts/"):
                assert (project_root / line.split()[1]).exists(), line
    assert "--training.max_steps 10" in commands["train"]["script"][0]
    shipped = {a["dest"]: a.get("checksum") for a in config["assets"] if not a.get("extra")}
    for name in SAMPLE_FILES:
        data = (project_root / "assets" / name).read_bytes()
        assert shipped[f"assets/{name}"] == hashlib.md5(data).hexdigest(), name


def test_sample_is_reproducible(tmp_path):
    script = PROJECT_DIR / "scripts" / "make_sample.py"
    out = [tmp_path / name for name in SAMPLE_FILES]
    result = subprocess.run(
        [sys.executable, str(script), *map(str, out), "--seed", "0"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in out:
        assert path.read_bytes() == (PROJECT_DIR / "assets" / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name,n_docs", [("sample_train.jsonl", 200), ("sample_dev.jsonl", 60)])
def test_sample_converts_cleanly_with_nesting(tmp_path, name, n_docs):
    stats = convert(PROJECT_DIR / "assets" / name, tmp_path / "out.spacy", format="jsonl", lang="en")
    assert stats.docs_written == n_docs
    assert stats.spans_skipped_total == 0 and stats.spans_expanded == 0
    assert 0.2 <= stats.docs_with_overlap / n_docs <= 0.3
    assert stats.crossing_pairs == 0
    assert set(stats.spans_by_label) == set(LABELS)
    assert 5 <= stats.tokens / n_docs <= 40


def test_readme_figures_are_found_and_a_stale_one_fails(tmp_path):
    """The figure check reads every marked table, lets a CPU's drift within
    FIGURE_TOLERANCE pass and fails on a figure further off."""
    figures = {wf: readme_figures(wf) for wf in ("all", "relations", "events")}
    assert {key for _, _, key, _ in figures["all"]} == {"spans_sc_p", "spans_sc_r", "spans_sc_f"}
    assert ("project/README.md", "metrics/relations.json", "relations_micro_f", figures["relations"][2][3]) in figures["relations"]
    assert any(key == "events_per_type.Move.f" for _, _, key, _ in figures["events"])
    quoted = {key: float(value) for _, _, key, value in figures["all"]}
    (tmp_path / "metrics").mkdir()
    metrics = tmp_path / "metrics" / "metrics.json"
    metrics.write_text(json.dumps(quoted), encoding="utf8")
    check_readme_figures(tmp_path, "all")
    metrics.write_text(json.dumps({**quoted, "spans_sc_f": quoted["spans_sc_f"] - 0.006}), encoding="utf8")
    check_readme_figures(tmp_path, "all")
    metrics.write_text(json.dumps({**quoted, "spans_sc_f": quoted["spans_sc_f"] - 0.011}), encoding="utf8")
    with pytest.raises(AssertionError, match="spans_sc_f is quoted as"):
        check_readme_figures(tmp_path, "all")
