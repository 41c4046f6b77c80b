"""Training data shaped like what the pipeline meets in use: paragraphs.

Corpora such as DuIE, DuEE, SciERC or the shipped samples hold one sentence
per doc, while users run pipelines on paragraphs and articles. spaCy's CNN
pads every doc's edges with zeros, so a model trained on lone sentences learns
that padding as "sentence start": given a paragraph, the first tokens of its
second and later sentences look unlike anything it saw, and the entities and
relations there lose most of their score (on the relations sample, a relation
of a sentence-initial entity fell from p 0.99 alone to p 0.18 inside an
8-sentence paragraph). `spacy-globalpointer.Paragraphs.v1` reads a corpus like
`spacy.Corpus.v1` and joins some runs of consecutive docs into paragraphs
(spans, entities, relations and events shifted along, sentence boundaries
set), so the model learns sentences in both positions.
"""
import random
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from spacy.util import registry

from .checks import check_int, check_number_in
from .extensions import event_records, relation_records, set_event_records, set_relation_records
from .pipeline.base import is_held_out


@registry.readers("spacy-globalpointer.Paragraphs.v1")
def create_paragraphs_reader(
    path: Optional[Union[str, Path]],
    paragraph_share: float = 0.5,
    max_sentences: int = 4,
    heldout_one_in: int = 20,
    seed: int = 0,
    gold_preproc: bool = False,
    max_length: int = 0,
    limit: int = 0,
    augmenter: Optional[Callable] = None,
) -> Callable[[Language], Iterable[Example]]:
    """A training corpus (a .spacy file or folder, as `spacy.Corpus.v1` reads)
    in which some runs of consecutive docs are joined into paragraphs.

    paragraph_share (float): the share of docs that go into a paragraph
        (0 reads the corpus as it is). The others stay as they are, so the
        model also keeps seeing docs that are one sentence.
    max_sentences (int): a paragraph joins 2 to this many docs.
    heldout_one_in (int): docs that calibration holds out (the components'
        `calibration.heldout_one_in`) are never joined, so they stay unseen.
    seed (int): which docs are joined, drawn anew every epoch from this seed.
    gold_preproc, max_length, limit, augmenter: as for `spacy.Corpus.v1`.
    """
    check_number_in("E035", paragraph_share, 0, 1)
    check_int("max_sentences", max_sentences, minimum=2)
    check_int("heldout_one_in", heldout_one_in)
    corpus = Corpus(path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter)
    return ParagraphCorpus(corpus, float(paragraph_share), max_sentences, heldout_one_in, seed)


class ParagraphCorpus:
    """Iterate a corpus with some runs of consecutive examples joined."""

    def __init__(
        self,
        corpus: Callable[[Language], Iterable[Example]],
        paragraph_share: float,
        max_sentences: int,
        heldout_one_in: int,
        seed: int,
    ) -> None:
        self.corpus = corpus
        self.paragraph_share = paragraph_share
        self.max_sentences = max_sentences
        self.heldout_one_in = heldout_one_in
        self.seed = seed
        self._epoch = 0

    def __call__(self, nlp: Language) -> Iterator[Example]:
        rng = random.Random(f"{self.seed}/{self._epoch}")
        self._epoch += 1
        run: List[Example] = []
        size = 0
        for eg in self.corpus(nlp):
            if not run:
                joinable = len(eg.reference) and not is_held_out(eg.reference.text, self.heldout_one_in)
                if not joinable or rng.random() >= self.paragraph_share:
                    yield eg
                    continue
                size = rng.randint(2, self.max_sentences)
            elif not len(eg.reference) or is_held_out(eg.reference.text, self.heldout_one_in):
                yield eg
                continue
            run.append(eg)
            if len(run) == size:
                yield join_examples(run)
                run = []
        if run:
            yield join_examples(run) if len(run) > 1 else run[0]


def join_examples(examples: List[Example]) -> Example:
    """One example whose docs are the examples' docs in a row, each starting a
    sentence: spans, entities, relations and events move along with their tokens."""
    reference = _join([eg.reference for eg in examples])
    predicted = _join([eg.predicted for eg in examples])
    return Example(predicted, reference)


def _join(docs: List[Doc]) -> Doc:
    joined = Doc.from_docs(docs, ensure_whitespace=True, exclude=["user_data"])
    relations = []
    events = []
    offset = 0
    for doc in docs:
        for head, predicate, tail, score in relation_records(doc):
            relations.append((_shift(head, offset), predicate, _shift(tail, offset), score))
        for event_type, trigger, arguments, score in event_records(doc):
            events.append((
                event_type,
                None if trigger is None else _shift(trigger, offset),
                tuple((role, _shift(span, offset)) for role, span in arguments),
                score,
            ))
        offset += len(doc)
    set_relation_records(joined, relations)
    set_event_records(joined, events)
    return joined  # Doc.from_docs starts a sentence at each doc (and keeps the docs' own)


def _shift(record, offset: int):
    start, end, label = record
    return (start + offset, end + offset, label)
