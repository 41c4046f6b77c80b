"""Configs and the command line: fill-config, init labels, spacy train, spacy.load."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from thinc.api import ConfigValidationError
import spacy
from spacy.tokens import DocBin
from spacy.util import load_config, load_model_from_config, registry
from thinc.api import Config

from conftest import NESTED_DATA, make_examples

CONFIGS = Path(__file__).parent.parent / "project" / "configs"


def run(*args, cwd=None):
    out = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    nlp = spacy.blank("en")
    db = DocBin(store_user_data=True)
    for eg in make_examples(nlp, NESTED_DATA * 4):
        db.add(eg.reference)
    db.to_disk(folder / "train.spacy")
    db.to_disk(folder / "dev.spacy")
    return folder


@pytest.mark.parametrize("name", ["cnn.cfg", "transformer.cfg"])
def test_shipped_configs_validate_and_fill(name, tmp_path):
    config = load_config(CONFIGS / name)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert "globalpointer" in nlp.pipe_names
    run("spacy", "init", "fill-config", str(CONFIGS / name), str(tmp_path / "filled.cfg"))
    filled = load_config(tmp_path / "filled.cfg")
    assert filled["components"]["globalpointer"]["factory"] == "globalpointer"


@pytest.mark.parametrize(
    "name,pipeline",
    [
        ("relations.cfg", ["tok2vec", "globalpointer", "globalpointer_relations"]),
        ("relations_trf.cfg", ["transformer", "globalpointer", "globalpointer_relations"]),
        ("events.cfg", ["tok2vec", "globalpointer_events"]),
        ("events_trf.cfg", ["transformer", "globalpointer_events"]),
    ],
)
def test_relation_and_event_configs_validate_and_fill(name, pipeline, tmp_path):
    if name.endswith("_trf.cfg"):
        pytest.importorskip("spacy_transformers")
    config = load_config(CONFIGS / name)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == pipeline
    # Every head listens to the one shared encoder (upstream "*").
    heads = [n for n in pipeline if n.startswith("globalpointer")]
    for head in heads:
        tok2vec = nlp.get_pipe(head).model.get_ref("tok2vec")
        assert tok2vec.name.split(">>")[0] in ("tok2vec-listener", "transformer-listener"), (head, tok2vec.name)
    run("spacy", "init", "fill-config", str(CONFIGS / name), str(tmp_path / "filled.cfg"))
    filled = load_config(tmp_path / "filled.cfg")
    for head in heads:
        assert filled["components"][head]["factory"] == head
    if "globalpointer_events" in pipeline:
        assert filled["training"]["score_weights"]["events_argument_cls_f"] == 1.0
        assert filled["components"]["globalpointer_events"]["spans_key"] == "events"
    if name.endswith("_trf.cfg"):
        assert filled["components"]["transformer"]["model"]["name"] == "roberta-base"
        overridden = load_config(CONFIGS / name, overrides={"components.transformer.model.name": "bert-base-cased"})
        assert overridden["components"]["transformer"]["model"]["name"] == "bert-base-cased"


def test_architectures_resolve_from_the_registry():
    for arch in ("GlobalPointer", "EfficientGlobalPointer"):
        cfg = Config().from_str(
            f"""
            [model]
            @architectures = "spacy-globalpointer.{arch}.v1"
            head_size = 8
            [model.tok2vec]
            @architectures = "spacy.HashEmbedCNN.v2"
            width = 16
            depth = 1
            embed_size = 100
            window_size = 1
            maxout_pieces = 2
            subword_features = true
            pretrained_vectors = null
            """
        )
        model = registry.resolve(cfg)["model"]
        assert model.has_ref("tok2vec") and model.has_ref("head")


def test_invalid_settings_fail_at_config_time():
    config = load_config(CONFIGS / "cnn.cfg")
    config["components"]["globalpointer"]["max_span_width"] = -1
    with pytest.raises(ValueError, match="E024"):
        load_model_from_config(config, auto_fill=True, validate=True)
    config["components"]["globalpointer"]["max_span_width"] = "wide"
    with pytest.raises(ConfigValidationError, match="max_span_width"):
        load_model_from_config(config, auto_fill=True, validate=True)


def test_spacy_train_end_to_end_then_load_in_a_fresh_process(corpus, tmp_path):
    labels_dir = tmp_path / "labels"
    run("spacy", "init", "labels", str(CONFIGS / "cnn.cfg"), str(labels_dir),
        "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"))
    assert sorted(json.loads((labels_dir / "globalpointer.json").read_text())) == ["LOC", "ORG", "PER"]
    config = load_config(CONFIGS / "cnn.cfg")
    config["initialize"]["components"] = {
        "globalpointer": {"labels": {"@readers": "spacy.read_labels.v1", "path": str(labels_dir / "globalpointer.json")}}
    }
    config.to_disk(tmp_path / "config.cfg")
    out_dir = tmp_path / "out"
    run(
        "spacy", "train", str(tmp_path / "config.cfg"), "--output", str(out_dir),
        "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
        "--training.max_steps", "40", "--training.eval_frequency", "20",
        "--components.tok2vec.model.encode.width", "32",
    )
    meta = json.loads((out_dir / "model-best" / "meta.json").read_text())
    assert "spans_sc_f" in meta["performance"]
    code = (
        "import json, spacy, sys; before = 'spacy_globalpointer' in sys.modules;"
        "nlp = spacy.load(sys.argv[1]); doc = nlp('The Bank of England raised rates');"
        "gp = nlp.get_pipe('globalpointer');"
        "print(json.dumps([before, type(gp).__module__, sorted(gp.labels), 'sc' in doc.spans]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(out_dir / "model-best")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    imported_before, module, labels, has_spans = json.loads(out.stdout.strip().splitlines()[-1])
    assert imported_before is False  # spaCy found the factory through the entry point
    assert module == "spacy_globalpointer.pipeline.spans"
    assert labels == ["LOC", "ORG", "PER"] and has_spans is True
