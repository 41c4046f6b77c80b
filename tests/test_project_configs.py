"""The shipped configs are complete and `spacy debug data` runs on each of them.

Every config in project/configs and project/benchmarks/configs is what
`spacy init fill-config` makes of it (plus comments), so spaCy's CLI tools that
validate without filling (`spacy debug data`) accept it. `spacy debug data` runs
through the CLI, as a user would run it, on the converted shipped samples: the
span sample (with doc.ents, for ner) for the span configs, the relations and
events samples for theirs. Transformer configs get the tiny local BERT of
test_transformer.py as their model (--components.transformer.model.name), so
nothing is downloaded.
"""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from spacy.util import import_file, load_config
from thinc.api import Config

from spacy_globalpointer.convert import convert

from test_project import PROJECT_DIR

CONFIG_DIRS = (PROJECT_DIR / "configs", PROJECT_DIR / "benchmarks" / "configs")
CONFIGS = sorted(path for folder in CONFIG_DIRS for path in folder.glob("*.cfg"))
# Registered functions a config needs beyond the package (spacy train --code).
CODE = {
    "pair_classifier.cfg": PROJECT_DIR / "benchmarks" / "pair_classifier.py",
    "span_events.cfg": PROJECT_DIR / "benchmarks" / "span_events.py",
    "pair_classifier_trf.cfg": PROJECT_DIR / "benchmarks" / "pair_classifier.py",
    "span_events_trf.cfg": PROJECT_DIR / "benchmarks" / "span_events.py",
}


def config_id(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR))


def task_of(path: Path) -> str:
    """Which sample a config trains on, from the components in its pipeline."""
    pipeline = Config().from_disk(path, interpolate=False)["nlp"]["pipeline"]
    if any(name in pipeline for name in ("globalpointer_events", "benchmark_span_events")):
        return "events"
    if any(name in pipeline for name in ("globalpointer_relations", "benchmark_pair_classifier")):
        return "relations"
    return "spans"


def test_every_shipped_config_is_found():
    assert {p.name for p in CONFIGS} >= {
        "cnn.cfg", "transformer.cfg", "relations.cfg", "relations_trf.cfg", "events.cfg", "events_trf.cfg",
        "ner.cfg", "spancat.cfg", "span_finder_spancat.cfg", "gplinker_pipeline.cfg", "pair_classifier.cfg",
        "ner_trf.cfg", "spancat_trf.cfg", "pair_classifier_trf.cfg", "span_events_trf.cfg",
    }


@pytest.mark.parametrize("path", CONFIGS, ids=config_id)
def test_config_is_complete(path, tmp_path):
    """`spacy init fill-config` has nothing to add."""
    if path.name in CODE:
        import_file(path.stem, CODE[path.name])
    if "transformer" in Config().from_disk(path, interpolate=False)["components"]:
        pytest.importorskip("spacy_transformers")
    from spacy.cli.init_config import fill_config

    _, filled = fill_config(tmp_path / "filled.cfg", path, silent=True)
    assert load_config(path) == filled, "run `spacy init fill-config` on it and put its comments back"


@pytest.fixture(scope="module")
def sample_corpora(tmp_path_factory) -> Dict[str, List[str]]:
    """Train and dev DocBins of the three shipped samples, by task."""
    folder = tmp_path_factory.mktemp("corpora")
    assets = PROJECT_DIR / "assets"
    inputs = {
        "spans": ("sample_train.jsonl", "sample_dev.jsonl", {"ents": True}),
        "relations": ("sample_relations_train.jsonl", "sample_relations_dev.jsonl", {"relations": True}),
        "events": ("sample_events_train.jsonl", "sample_events_dev.jsonl", {"events": True}),
    }
    corpora = {}
    for task, (train, dev, options) in inputs.items():
        paths = []
        for split, name in (("train", train), ("dev", dev)):
            out = folder / f"{task}_{split}.spacy"
            convert(assets / name, out, format="jsonl", lang="en", **options)
            paths.append(str(out))
        corpora[task] = paths
    return corpora


@pytest.fixture(scope="module")
def local_bert(tmp_path_factory) -> str:
    pytest.importorskip("spacy_transformers")
    from test_transformer import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.mark.parametrize("path", CONFIGS, ids=config_id)
def test_spacy_debug_data_runs(path, sample_corpora, request):
    train, dev = sample_corpora[task_of(path)]
    argv = [sys.executable, "-m", "spacy", "debug", "data", str(path), "--paths.train", train, "--paths.dev", dev]
    if path.name in CODE:
        argv += ["--code", str(CODE[path.name])]
    if "transformer" in Config().from_disk(path, interpolate=False)["components"]:
        argv += ["--components.transformer.model.name", request.getfixturevalue("local_bert")]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = subprocess.run(argv, capture_output=True, text=True, encoding="utf8", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checks passed" in result.stdout, result.stdout


@pytest.mark.parametrize("path", CONFIGS, ids=config_id)
def test_config_tokenizes_the_language_it_is_given(path):
    """`--nlp.lang zh` gets the Chinese character segmenter, not the English
    rule-based tokenizer a filled English config names (which keeps a Chinese
    sentence as one token, so every gold span is misaligned)."""
    if path.name in CODE:
        import_file(path.stem, CODE[path.name])
    components = Config().from_disk(path, interpolate=False)["components"]
    if "transformer" in components:
        pytest.importorskip("spacy_transformers")
    from spacy.util import load_model_from_config

    for lang, expected in (("zh", ["中", "文", "句", "子"]), ("en", ["Ana", "'s", "test", "."])):
        config = load_config(path, overrides={"nlp.lang": lang})
        nlp = load_model_from_config(config, auto_fill=True, validate=True)
        text = "中文句子" if lang == "zh" else "Ana's test."
        assert [t.text for t in nlp.make_doc(text)] == expected
