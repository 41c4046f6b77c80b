"""The Paragraphs reader: sentence-level corpora joined into paragraphs, nothing lost."""
import pytest
import spacy
from spacy.tokens import DocBin, Span
from spacy.training import Example

from spacy_globalpointer import Event, Relation
from spacy_globalpointer.pipeline.base import is_held_out
from spacy_globalpointer.training import create_paragraphs_reader, join_examples


def make_example(nlp, text, k):
    doc = nlp.make_doc(text)
    ref = doc.copy()
    ana, porto = Span(ref, 0, 1, "PER"), Span(ref, 3, 4, "LOC")
    ref.spans["sc"] = [ana, porto]
    ref._.relations = [Relation(ana, "lives_in", porto)]
    ref._.events = [Event("Move", Span(ref, 1, 2, "Move"), (("place", porto),))]
    return Example(doc, ref)


def as_chars(doc):
    rels = [(r.head.text, r.head.start_char, r.label, r.tail.text, r.tail.start_char) for r in doc._.relations]
    events = [(e.label, e.trigger.start_char, tuple((role, s.start_char) for role, s in e.arguments)) for e in doc._.events]
    spans = [(s.start_char, s.end_char, s.label_) for s in doc.spans["sc"]]
    return rels, events, spans


def test_joined_examples_keep_every_annotation_in_place():
    nlp = spacy.blank("en")
    examples = [make_example(nlp, f"Ana{k} moved to Porto{k} .", k) for k in range(3)]
    joined = join_examples(examples)
    ref = joined.reference
    assert ref.text == " ".join(eg.reference.text for eg in examples)
    assert [s.text for s in ref.sents] == [eg.reference.text for eg in examples]
    assert joined.predicted.text == ref.text and len(list(joined.predicted.sents)) == 3
    rels, events, spans = as_chars(ref)
    assert [r[:4:3] for r in rels] == [(f"Ana{k}", f"Porto{k}") for k in range(3)]
    offset = 0
    for eg in examples:
        r, e, s = as_chars(eg.reference)
        assert [(a, b + offset, c, d, x + offset) for a, b, c, d, x in r] == [x for x in rels if offset <= x[1] < offset + len(eg.reference.text)]
        offset += len(eg.reference.text) + 1
    assert len(events) == 3 and len(spans) == 6


def test_the_reader_joins_runs_and_loses_no_doc(tmp_path):
    nlp = spacy.blank("en")
    texts = [f"Ana{k} moved to Porto{k} ." for k in range(60)]
    held = [t for t in texts if is_held_out(t)]
    assert held  # the hash holds some out
    docs = [make_example(nlp, t, k).reference for k, t in enumerate(texts)]
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "train.spacy")
    reader = create_paragraphs_reader(tmp_path / "train.spacy", paragraph_share=1.0, max_sentences=3)
    for _ in range(2):  # two epochs, each a fresh draw
        out = list(reader(nlp))
        def sentences_of(doc):
            return [s.text for s in doc.sents] if doc.has_annotation("SENT_START") else [doc.text]

        sentences = [s for eg in out for s in sentences_of(eg.reference)]
        assert sorted(sentences) == sorted(texts)  # every doc once
        assert sum(len(eg.reference._.relations) for eg in out) == 60
        joined = [eg for eg in out if len(sentences_of(eg.reference)) > 1]
        assert joined and all(len(sentences_of(eg.reference)) <= 3 for eg in out)
        assert not any(t in eg.reference.text for eg in joined for t in held)  # held-out docs stay alone
    plain = list(create_paragraphs_reader(tmp_path / "train.spacy", paragraph_share=0.0)(nlp))
    assert [eg.reference.text for eg in plain] == texts
    with pytest.raises(ValueError, match="E035"):
        create_paragraphs_reader(tmp_path / "train.spacy", paragraph_share=1.5)
    with pytest.raises(ValueError, match="E024"):
        create_paragraphs_reader(tmp_path / "train.spacy", max_sentences=1)
