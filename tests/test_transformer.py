"""GlobalPointer on a spacy-transformers TransformerListener, with a tiny BERT built here.

Nothing is downloaded: the model and its word-piece vocabulary are written to
a temporary folder and loaded from there.
"""
import pytest

pytest.importorskip("spacy_transformers")
transformers = pytest.importorskip("transformers")

import spacy  # noqa: E402
from thinc.api import Adam, fix_random_seed  # noqa: E402

from conftest import NESTED_DATA, make_examples, span_tuples  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_bert(folder) -> str:
    """A 2-layer, 32-wide BERT and its word-piece vocabulary (the test texts' words
    and characters), saved in `folder`: a model name spacy-transformers loads offline."""
    words = sorted({w.lower() for text, _ in NESTED_DATA for w in text.split()})
    vocab = SPECIAL + words + sorted({c for w in words for c in w})
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def build_transformer_nlp(model_name: str):
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "transformer",
        config={
            "model": {
                "@architectures": "spacy-transformers.TransformerModel.v3",
                "name": model_name,
                "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 32, "stride": 24},
                "tokenizer_config": {"use_fast": True},
            },
        },
    )
    nlp.add_pipe(
        "globalpointer",
        config={
            "model": {
                "@architectures": "spacy-globalpointer.EfficientGlobalPointer.v1",
                "head_size": 16,
                "tok2vec": {
                    "@architectures": "spacy-transformers.TransformerListener.v1",
                    "grad_factor": 1.0,
                    "pooling": {"@layers": "reduce_mean.v1"},
                    "upstream": "*",
                },
            }
        },
    )
    return nlp


def test_auto_calibration_holds_docs_out_on_a_transformer(tiny_bert, monkeypatch):
    """A fine-tuned transformer fits its training docs, so "auto" calibrates on
    held-out ones there (on the CNN it is "batches": test_component.py); with
    too few docs to hold any out, it rescores recent ones ("inference")."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from spacy_globalpointer.calibration import uses_transformer

    nlp = build_transformer_nlp(tiny_bert)
    examples = make_examples(nlp)
    gp = nlp.get_pipe("globalpointer")
    assert uses_transformer(gp.model, gp.name, nlp)
    gp.cfg["calibration"] = {**gp.cfg["calibration"], "source": "auto", "min_heldout_docs": len(examples)}
    gp.start_training(nlp, lambda: examples)
    assert gp.calibration_source == "heldout"
    gp.cfg["calibration"] = {**gp.cfg["calibration"], "min_heldout_docs": len(examples) + 1}
    gp.start_training(nlp, lambda: examples)
    assert gp.calibration_source == "inference"
    # A spaCy CNN tok2vec is not a transformer, shared through a listener or not.
    cnn = spacy.blank("en")
    cnn.add_pipe("tok2vec")
    cnn_gp = cnn.add_pipe("globalpointer")
    assert not uses_transformer(cnn_gp.model, cnn_gp.name, cnn)


def test_overfits_with_a_transformer_listener(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    fix_random_seed(0)
    nlp = build_transformer_nlp(tiny_bert)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.003)
    for _ in range(120):
        nlp.update(examples, sgd=optimizer, losses={})
    scores = nlp.evaluate(examples)
    assert scores["spans_sc_f"] == 1.0
    texts = [t for t, _ in NESTED_DATA]
    expected = [span_tuples(d) for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "trf")
    loaded = spacy.load(tmp_path / "trf")
    assert [span_tuples(d) for d in loaded.pipe(texts)] == expected
