"""Mutation check: break one core line at a time and show the suite notices.

Usage (from the repository root): python tests/mutation_check.py [--only NAME]

Each mutation copies the package to a temporary folder, changes one line,
and runs the test files that guard that line (stopping at the first failure)
with the copy first on the path. A mutation the tests survive is a hole in
the suite: the script lists the survivors and exits 1. Not part of the CI run
(it runs the suite once per mutation); run it after changing a core piece.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "spacy_globalpointer"


class Mutation(NamedTuple):
    name: str
    path: str  # inside the package
    old: str
    new: str
    tests: List[str]


SPAN_TESTS = ["tests/test_core_guards.py", "tests/test_heads.py", "tests/test_decoding.py", "tests/test_component.py"]
MUTATIONS = [
    Mutation(
        "RoPE skipped", "ml/torch_modules.py",
        "        if self.use_rope:\n            positions", "        if False:\n            positions",
        SPAN_TESTS,
    ),
    Mutation(
        "RoPE positions all 0", "ml/torch_modules.py",
        "positions = torch.arange(queries.shape[-2], device=queries.device)",
        "positions = torch.zeros(queries.shape[-2], dtype=torch.long, device=queries.device)",
        SPAN_TESTS,
    ),
    Mutation(
        "decoder keeps cells equal to the threshold", "decoding.py",
        "hits = (scores > threshold)", "hits = (scores >= threshold)", SPAN_TESTS,
    ),
    Mutation(
        "span end without + 1", "decoding.py",
        'span_ends = starts + to_numpy(offset_idx).astype("int64") + 1',
        'span_ends = starts + to_numpy(offset_idx).astype("int64")',
        SPAN_TESTS,
    ),
    Mutation(
        "loss without its positive term", "losses.py",
        "    return neg_loss + pos_loss", "    return neg_loss",
        ["tests/test_core_guards.py", "tests/test_losses.py", "tests/test_training_loss.py"],
    ),
    Mutation(
        "scores sigmoid(logit) instead of sigmoid(2 logit)", "decoding.py",
        "numpy.exp(-2.0 * logits", "numpy.exp(-1.0 * logits", SPAN_TESTS,
    ),
    Mutation(
        "relation tail pairs read from span starts", "pipeline/relations.py",
        "cells(ends[subjects] - 1, ends[objects] - 1)",
        "cells(starts[subjects], starts[objects])",
        ["tests/test_relations.py"],
    ),
    Mutation(
        "relation decoder keeps triples equal to the threshold", "pipeline/relations.py",
        'numpy.nonzero(logits > threshold)', 'numpy.nonzero(logits >= threshold)',
        ["tests/test_relations.py"],
    ),
    Mutation(
        "relation pairs beyond max_pair_distance at their ends proposed", "pipeline/linking.py",
        "close = numpy.abs(ends[a] - ends[b]) < distance",
        "close = numpy.abs(ends[a] - ends[b]) < distance + 50",
        ["tests/test_relations.py", "tests/test_linking.py"],
    ),
    Mutation(
        "relation candidates not the best-scoring upstream spans", "pipeline/linking.py",
        'order = numpy.argsort(-scores, kind="stable") if scores is not None else numpy.arange(len(starts))',
        "order = numpy.arange(len(starts))",
        ["tests/test_relations.py", "tests/test_linking.py"],
    ),
    Mutation(
        "relation candidates listed twice linked twice", "pipeline/linking.py",
        "if key in seen:", "if False:", ["tests/test_relations.py", "tests/test_linking.py"],
    ),
    Mutation(
        "unaligned predicted relations dropped from the scores", "pipeline/relation_scorer.py",
        "predicted.add((aligned[head], predicate, aligned[tail]))",
        "predicted.add((aligned[head], predicate, aligned[tail])) if to_reference(eg, head) and to_reference(eg, tail) else None",
        ["tests/test_relations.py"],
    ),
    Mutation(
        "event links kept at the threshold", "pipeline/events.py",
        "linked = logits > link_threshold", "linked = logits >= link_threshold", ["tests/test_events.py"],
    ),
    Mutation(
        "events without a trigger kept", "pipeline/event_structure.py",
        "            if not triggers:\n                continue\n",
        "            if not triggers:\n                triggers = list(chosen)\n",
        ["tests/test_events.py"],
    ),
    Mutation(
        "event cliques across event types", "pipeline/event_structure.py",
        "groups_of.setdefault((event_type, int(windows[k])), []).append(k)",
        "groups_of.setdefault(('all', int(windows[k])), []).append(k)",
        ["tests/test_events.py"],
    ),
    Mutation(
        "calibration guard tests the optimum alone", "calibration.py",
        "passing = numpy.flatnonzero(wins >= confidence) + 1",
        "passing = numpy.flatnonzero(wins[-1:] >= confidence) + n_points",
        ["tests/test_core_guards.py"],
    ),
    Mutation(
        "held-out docs trained on", "pipeline/base.py",
        "        if not any(held):\n", "        if True:\n",
        ["tests/test_component.py"],
    ),
    Mutation(
        "auto calibration holds docs out on the CNN", "calibration.py",
        '    return "heldout" if transformer_encoder else "batches"',
        '    return "heldout"',
        ["tests/test_component.py"],
    ),
    Mutation(
        "span-pair gradient lost", "ml/span_pairs.py",
        "        ops.scatter_add(d_flat, index_array, d_tokens)\n",
        "",
        ["tests/test_span_pairs.py"],
    ),
    Mutation(
        "span-pair scores ignored at inference", "pipeline/relations.py",
        "    if span_pairs is not None:\n        return span_pairs\n",
        "",
        ["tests/test_span_pairs.py"],
    ),
    Mutation(
        "tokenizer fixed to English", "tokenizers.py",
        "        default = get_lang_class(nlp.lang).default_config",
        '        default = get_lang_class("en").default_config',
        ["tests/test_tokenizers.py"],
    ),
    Mutation(
        "links across sentences", "pipeline/linking.py",
        '    if scope == "doc" or n_tokens == 0 or not doc.has_annotation("SENT_START"):',
        "    if True:",
        ["tests/test_linking.py"],
    ),
    Mutation(
        "candidate cap per doc, not per window", "pipeline/linking.py",
        "near_starts = chosen_starts.setdefault(int(windows[i]), [])",
        "near_starts = chosen_starts.setdefault(0, [])",
        ["tests/test_linking.py"],
    ),
    Mutation(
        "label triples never mask", "pipeline/linking.py",
        "        if not len(label_pairs) or not self.constrains:\n            return logits",
        "        if True:\n            return logits",
        ["tests/test_linking.py", "tests/test_relations.py"],
    ),
    Mutation(
        "seen label triples not recorded", "pipeline/relations.py",
        "counts[(LABEL_TRIPLE,) + triple] += 1",
        "pass",
        ["tests/test_relations.py"],
    ),
    Mutation(
        "encoder gradient share ignored", "ml/layers.py",
        "        if scale != 1.0:\n            d_vectors = [d * scale for d in d_vectors]",
        "        if False:\n            d_vectors = [d * scale for d in d_vectors]",
        ["tests/test_span_pairs.py"],
    ),
]


def run(mutation: Mutation, mutate: bool = True) -> bool:
    """True if the tests catch the mutation (some test fails).

    The tests run from a temporary copy of the repository (package, tests,
    project configs and assets): Python puts the working folder first on the
    path, so the mutated copy is what they import, even beside an editable install.
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ignore = shutil.ignore_patterns("__pycache__", "*.spacy", "training*", "corpus", "packages")
        for part in (PACKAGE, "tests", "project/configs", "project/assets", "pytest.ini"):
            source, dest = ROOT / part, root / part
            if source.is_dir():
                shutil.copytree(source, dest, ignore=ignore)
            elif source.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, dest)
        target = root / PACKAGE / mutation.path
        text = target.read_text(encoding="utf8")
        if text.count(mutation.old) != 1:
            raise SystemExit(f"{mutation.name}: the line to mutate is not found once in {mutation.path}")
        if mutate:
            target.write_text(text.replace(mutation.old, mutation.new), encoding="utf8")
        tests = [t for t in mutation.tests if (root / t).exists()]
        if len(tests) != len(mutation.tests):
            raise SystemExit(f"{mutation.name}: test files missing: {sorted(set(mutation.tests) - set(tests))}")
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        result = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        return result.returncode != 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the mutations whose name contains this")
    args = parser.parse_args()
    survivors = []
    selected = [m for m in MUTATIONS if not args.only or args.only in m.name]
    # The unmutated copy must pass each test set, or a "caught" would mean nothing.
    for tests in sorted({tuple(m.tests) for m in selected}):
        mutation = next(m for m in selected if tuple(m.tests) == tests)
        if run(mutation, mutate=False):
            raise SystemExit(f"the unmutated copy fails {' '.join(tests)}: fix that first")
    for mutation in selected:
        start = time.time()
        caught = run(mutation)
        print(f"{'caught  ' if caught else 'SURVIVED'}  {mutation.name}  ({time.time() - start:.0f} s)", flush=True)
        if not caught:
            survivors.append(mutation.name)
    if survivors:
        print(f"{len(survivors)} mutation(s) survived: {', '.join(survivors)}")
        sys.exit(1)
    print("every mutation was caught")


if __name__ == "__main__":
    main()
