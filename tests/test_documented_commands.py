"""The READMEs' shell commands and Python examples, run as they are written.

Every ```bash block of README.md and project/README.md is cut into commands
(backslash continuations joined, `&&` chains split, `#` comments dropped) and each
command runs through the CLI in a subprocess, in a temporary copy of the repository
that holds project/ only. `cd` moves the following commands of the same README.
`spacy project run` commands get `--dry`: the CLI still parses the command line,
so `run all --vars.x 1` (without the project folder) fails as it does for a reader,
and the variables must show up in the commands it would run. Script commands run
for real on tiny fake inputs written at the paths they name. Commands in SKIPPED
are not run; anything else that no runner here knows fails the test.
`python -m spacy_globalpointer annotate` commands run for real, on a blank pipeline
written at the model path they name when it is missing.

Every ```python block runs in a subprocess; the `# ...` comment lines right after a
`print(...)` line are the output it must print, line for line.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

import pytest
import spacy
from spacy.tokens import DocBin

from test_project import copy_project

REPO = Path(__file__).parent.parent
READMES = ("README.md", "project/README.md")

# Commands not run, by their leading words. An entry that no README uses any more fails
# test_skip_list_is_used, so the list can't hide commands silently.
SKIPPED: Dict[Tuple[str, ...], str] = {
    # Installs from an index (network) into the venv the tests run in.
    ("pip", "install"): "network install",
    # The whole test suite, which contains this test.
    ("python", "-m", "pytest"): "recursive",
}

# Tiny stand-ins for the data sets that script commands read, at the paths they name.
# Three records: records 4,000-4,999 (the documented dev range) are past the end, which
# convert.py warns about and writes an empty file for; 5,000 records would cost 20 CPU seconds.
FAKE_INPUTS: Dict[str, str] = {
    "project/assets/cmeee/CMeEE_dev.json": json.dumps(
        [
            {"text": "患者头痛。", "entities": [{"start_idx": 2, "end_idx": 3, "type": "sym", "entity": "头痛"}]}
            for _ in range(3)
        ],
        ensure_ascii=False,
    ),
    "project/assets/scierc/scierc_train.json": json.dumps(
        [
            {
                "tokens": ["We", "use", "CRFs", "for", "parsing", "."],
                "entities": [{"type": "Method", "start": 2, "end": 3}, {"type": "Task", "start": 4, "end": 5}],
                "relations": [{"type": "Used-for", "head": 0, "tail": 1}],
                "orig_id": "x",
            }
        ]
    ),
    "project/assets/phee/train.json": json.dumps(
        {
            "id": "1_1",
            "context": "He developed a rash after aspirin.",
            "is_mult_event": False,
            "annotations": [
                {
                    "events": [
                        {
                            "event_id": "E1",
                            "event_type": "Adverse_event",
                            "Trigger": {"text": [["developed"]], "start": [[3]], "entity_id": ["T1"]},
                            "Effect": {"text": [["a rash"]], "start": [[13]], "entity_id": ["T2"]},
                            "Treatment": {"text": [["aspirin"]], "start": [[26]], "entity_id": ["T3"]},
                        }
                    ]
                }
            ],
        }
    )
    + "\n",
}
# Output files of script commands and the number of docs each must hold.
EXPECTED_DOCS = {
    "project/corpus/train.spacy": 3,
    "project/corpus/dev.spacy": 0,
    "project/corpus/scierc_train.spacy": 1,
    "project/corpus/phee_train.spacy": 1,
}


class Command(NamedTuple):
    where: str  # README and line, for the test id and messages
    cwd: str  # relative to the repository root
    argv: List[str]


def bash_blocks(readme: str) -> List[Tuple[int, str]]:
    """(line number, text) of each ```bash block, continuations joined."""
    text = (REPO / readme).read_text(encoding="utf8")
    blocks = []
    for match in re.finditer(r"^```bash\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        line_no = text.count("\n", 0, match.start(1)) + 1
        blocks.append((line_no, re.sub(r"\\\n\s*", " ", match.group(1))))
    return blocks


def documented_commands() -> List[Command]:
    commands = []
    for readme in READMES:
        cwd = "."  # a reader starts in the repository root
        for first_line, block in bash_blocks(readme):
            for offset, line in enumerate(block.splitlines()):
                words = shlex.split(line, comments=True)
                chain: List[List[str]] = [[]]
                for word in words:
                    if word == "&&":
                        chain.append([])
                    else:
                        assert word not in ("|", ";", "||", ">", "<"), f"{readme}: no runner for {line!r}"
                        chain[-1].append(word)
                for argv in chain:
                    if not argv:
                        continue
                    commands.append(Command(f"{readme}:{first_line + offset}", cwd, argv))
                    if argv[0] == "cd":
                        cwd = os.path.normpath(os.path.join(cwd, argv[1]))
    return commands


COMMANDS = documented_commands()
RUN = [c for c in COMMANDS if not any(tuple(c.argv[: len(p)]) == p for p in SKIPPED)]


def test_commands_were_found():
    assert any(c.argv[:5] == ["python", "-m", "spacy", "project", "run"] for c in RUN)
    assert any("--vars.dataset" in c.argv for c in RUN)
    assert any(c.argv[:2] == ["python", "scripts/convert.py"] for c in RUN)


@pytest.mark.parametrize("prefix", list(SKIPPED), ids=" ".join)
def test_skip_list_is_used(prefix):
    assert any(tuple(c.argv[: len(prefix)]) == prefix for c in COMMANDS), f"stale skip entry: {prefix}"


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    copy_project(root)
    for path, content in FAKE_INPUTS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content, encoding="utf8")
    return root


def run_python(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    # The subprocess imports this checkout of the package, as the tests do.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf8"
    )


def var_values(argv: List[str]) -> List[str]:
    return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word.startswith("--vars.")]


@pytest.mark.parametrize("command", RUN, ids=[f"{c.where} {' '.join(c.argv)[:60]}" for c in RUN])
def test_documented_command_runs(command, repo_copy):
    cwd = repo_copy / command.cwd
    argv = command.argv
    if argv[0] == "cd":
        assert (cwd / argv[1]).is_dir(), f"{command.where}: no folder {argv[1]} in {command.cwd}"
        return
    assert argv[0] == "python", f"{command.where}: no runner for {' '.join(argv)}"
    if argv[1:5] == ["-m", "spacy", "project", "run"]:
        result = run_python(argv[1:] + ["--dry"], cwd)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command.where}: {' '.join(argv)}\n{output}"
        commands_run = "\n".join(l for l in output.splitlines() if l.startswith("Running command:"))
        assert commands_run, output
        for value in var_values(argv):
            assert value in commands_run, f"{command.where}: --vars value {value!r} unused\n{output}"
    elif argv[1] == "scripts/convert.py":  # INPUT OUTPUT [options]
        result = run_python(argv[1:], cwd)
        assert result.returncode == 0, f"{command.where}: {' '.join(argv)}\n{result.stdout}{result.stderr}"
        output = os.path.normpath(os.path.join(command.cwd, argv[3]))
        assert len(DocBin().from_disk(repo_copy / output)) == EXPECTED_DOCS[output]
    elif argv[1:4] == ["-m", "spacy_globalpointer", "annotate"]:  # MODEL INPUT... --output DIR
        # The trained model is not in the copy: a blank pipeline stands in for it
        # (annotate takes any pipeline); the inputs are the shipped samples.
        model = cwd / argv[4]
        if not model.exists():
            model.parent.mkdir(parents=True, exist_ok=True)
            spacy.blank("en").to_disk(model)
        result = run_python(argv[1:] + ["--quiet"], cwd)
        assert result.returncode == 0, f"{command.where}: {' '.join(argv)}\n{result.stdout}{result.stderr}"
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["written"] == summary["records_in"] > 0, summary
        assert list((cwd / argv[argv.index("--output") + 1]).glob("part-*")), command.where
    else:
        pytest.fail(f"{command.where}: no runner for {' '.join(argv)}")


def python_examples(readme: str) -> List[Tuple[str, List[str]]]:
    """(code, expected output lines) of each ```python block."""
    text = (REPO / readme).read_text(encoding="utf8")
    examples = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        lines = match.group(1).splitlines()
        expected = []
        for i, line in enumerate(lines):
            if line.startswith("print("):
                for comment in lines[i + 1 :]:
                    if not comment.startswith("# "):
                        break
                    expected.append(comment[2:])
        examples.append((match.group(1), expected))
    return examples


EXAMPLES = [(readme, *example) for readme in READMES for example in python_examples(readme)]


def test_python_examples_were_found():
    assert any(expected for _, _, expected in EXAMPLES)


@pytest.mark.parametrize("readme,code,expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_python_example_prints_what_readme_says(readme, code, expected, tmp_path):
    # From the repository root, as the README's paths (project/configs/...) assume;
    # the examples write nothing.
    result = run_python(["-c", code], REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
