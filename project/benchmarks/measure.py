"""Measure a trained pipeline on a DocBin: span P/R/F (overall, per type, by gold
span length), inference words/s (nlp.pipe, batch 64, after a warm-up) and the
throughput of its encoder alone (tok2vec, or a spacy-transformers transformer).

    python measure.py MODEL_DIR DEV.spacy [--spans-key sc] [--json out.json]
        [--score spans] [--score ents] [--repeats 3] [--gpu-id -1]

--score picks what is scored: "spans" (doc.spans[spans_key], the default) and/or
"ents" (doc.ents, e.g. for spaCy's ner or globalpointer with ents = true). The
top-level "overall"/"by_length"/"per_type" fields hold the first target's
scores; "scores" holds every target's. "suggesters" gives, per span component,
the share of gold spans (unlabelled) its candidates can reach on this data.
scale_probe() (used by run_benchmark.py scale, one fresh process per size) times
the pipeline on one long document.
"""
import json
import os
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import spacy
import typer
from spacy.language import Language
from spacy.pipeline import SpanCategorizer
from spacy.scorer import PRFScore
from spacy.tokens import Doc, DocBin
from wasabi import msg

LENGTH_BUCKETS = [(1, 3), (4, 8), (9, 10**9)]
# Relation F1 by the number of gold entities in the doc.
ENTITY_BUCKETS = [(1, 2), (3, 4), (5, 10**9)]
TARGETS = ("spans", "ents", "relations")
RELATIONS_SCORER = "spacy-globalpointer.relations_scorer.v1"
# Shared encoder components whose throughput alone gives the head cost.
ENCODERS = ("tok2vec", "transformer")

SpanTuple = Tuple[int, int, str]


def bucket_name(low: int, high: int) -> str:
    return f"{low}+" if high >= 10**9 else f"{low}-{high}"


def span_sets(docs: Iterable[Doc], key: str) -> List[Set[SpanTuple]]:
    return [{(s.start, s.end, s.label_) for s in doc.spans.get(key, [])} for doc in docs]


def ent_sets(docs: Iterable[Doc]) -> List[Set[SpanTuple]]:
    return [{(s.start, s.end, s.label_) for s in doc.ents} for doc in docs]


def in_reference_tokens(
    predicted: List[Set[SpanTuple]], pred_docs: List[Doc], gold_docs: List[Doc]
) -> List[Set[SpanTuple]]:
    """Predicted spans in the gold docs' tokens, as spaCy's Scorer compares them
    (a data set tokenized otherwise than the pipeline, e.g. SciERC's PTB tokens,
    would else count every span of such a doc as wrong); a span that does not
    align gets a position no gold span has (a false positive of its length)."""
    from spacy.training import Example

    from spacy_globalpointer.pipeline.matching import to_reference

    out = []
    for spans, pred, gold in zip(predicted, pred_docs, gold_docs):
        if [t.text for t in pred] == [t.text for t in gold]:
            out.append(spans)
            continue
        eg = Example(pred, gold)
        aligned = set()
        for k, (start, end, label) in enumerate(sorted(spans)):
            at = to_reference(eg, (start, end, label))
            aligned.add((*at, label) if at is not None else (-1 - k, -1 - k + end - start, label))
        out.append(aligned)
    return out


def prf(gold: List[Set[SpanTuple]], pred: List[Set[SpanTuple]]) -> Dict[str, float]:
    """Micro P/R/F of the predicted against the gold spans (one set per doc),
    counted by spaCy's PRFScore (what Scorer.score_spans uses), with the counts."""
    score = PRFScore()
    for gold_spans, pred_spans in zip(gold, pred):
        score.score_set(pred_spans, gold_spans)
    return {**score.to_dict(), "n_gold": score.tp + score.fn, "n_pred": score.tp + score.fp}


def by_length(gold: List[set], pred: List[set]) -> Dict[str, Dict[str, float]]:
    """P/R/F restricted to spans of each length bucket (gold and predicted alike)."""
    out = {}
    for low, high in LENGTH_BUCKETS:
        inside = lambda s: low <= s[1] - s[0] <= high
        out[bucket_name(low, high)] = prf([{s for s in d if inside(s)} for d in gold], [{s for s in d if inside(s)} for d in pred])
    return out


def score_sets(gold: List[Set[SpanTuple]], pred: List[Set[SpanTuple]]) -> Dict:
    """Micro P/R/F, the same by gold span length and per gold label."""
    labels = sorted({s[2] for d in gold for s in d})
    per_type = {
        label: prf([{s for s in d if s[2] == label} for d in gold], [{s for s in d if s[2] == label} for d in pred])
        for label in labels
    }
    return {"overall": prf(gold, pred), "by_length": by_length(gold, pred), "per_type": per_type}


def relation_scores(gold_docs: List[Doc], pred_docs: List[Doc], spans_key: str) -> Dict:
    """Strict and boundary relation P/R/F with the package's relation scorer
    (the one every relation system trains with), per predicate (with gold
    support) and by the number of gold entities per doc."""
    from collections import Counter

    from spacy.training import Example
    from spacy.util import registry

    from spacy_globalpointer.extensions import relation_records

    scorer = registry.scorers.get(RELATIONS_SCORER)()
    examples = [Example(pred, gold) for pred, gold in zip(pred_docs, gold_docs)]

    def block(egs: List[Example]) -> Dict:
        scores = scorer(egs)
        n_gold = sum(len(relation_records(eg.reference)) for eg in egs)
        n_pred = sum(len(relation_records(eg.predicted)) for eg in egs)
        return {
            "overall": {"p": scores["relations_micro_p"], "r": scores["relations_micro_r"],
                        "f": scores["relations_micro_f"], "n_gold": n_gold, "n_pred": n_pred},
            "boundary": {"p": scores["relations_boundary_p"], "r": scores["relations_boundary_r"],
                         "f": scores["relations_boundary_f"], "n_gold": n_gold, "n_pred": n_pred},
            "per_type_raw": scores["relations_per_type"],
        }

    result = block(examples)
    support = Counter(p for eg in examples for _, p, _, _ in relation_records(eg.reference))
    predicted = Counter(p for eg in examples for _, p, _, _ in relation_records(eg.predicted))
    result["per_type"] = {
        label: {**score, "n_gold": support[label], "n_pred": predicted[label]}
        for label, score in result.pop("per_type_raw").items()
    }
    by_entities = {}
    for low, high in ENTITY_BUCKETS:
        subset = [eg for eg in examples if low <= len(eg.reference.spans.get(spans_key, [])) <= high]
        scores = block(subset)
        by_entities[bucket_name(low, high)] = {**scores["overall"], "docs": len(subset),
                                                "boundary_f": scores["boundary"]["f"]}
    result["by_entities"] = by_entities
    return result


def words_per_second(
    nlp, texts: List[str], n_words: int, batch_size: int = 64, repeats: int = 1
) -> float:
    """Words/s of nlp.pipe after a warm-up; the fastest of `repeats` passes
    (on a shared machine the slower passes measure the neighbours).

    Torch runs on one intra-op thread here, like spaCy's own CPU ops (blis, one
    thread), so every system gets the same compute and OpenMP does not
    spin-wait for busy cores (see the notes in results.md).
    """
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - spaCy-only systems
        pass
    list(nlp.pipe(texts[:200], batch_size=batch_size))  # warm-up
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=batch_size):
            pass
        best = min(best, time.perf_counter() - start)
    return n_words / best


def suggester_reach(nlp: Language, texts: List[str], gold_docs: List[Doc], spans_key: str) -> Dict:
    """Per span component: which share of the gold spans (ignoring labels) it
    could predict at all. spancat: the spans its suggester proposes, with the
    pipes before it run (so a span_finder's candidates count); globalpointer:
    the spans no wider than max_span_width."""
    gold = [{(s.start, s.end) for s in doc.spans.get(spans_key, [])} for doc in gold_docs]
    n_gold = sum(map(len, gold))
    n_tokens = sum(len(doc) for doc in gold_docs)
    out = {}
    for i, (name, pipe) in enumerate(nlp.pipeline):
        if isinstance(pipe, SpanCategorizer):
            with nlp.select_pipes(enable=nlp.pipe_names[:i]):
                docs = list(nlp.pipe(texts, batch_size=64))
            candidates = pipe.suggester(docs, ops=pipe.model.ops)
            pairs = candidates.dataXd.tolist()
            found, offset = 0, 0
            for doc_gold, length in zip(gold, candidates.lengths.tolist()):
                suggested = {tuple(pair) for pair in pairs[offset : offset + int(length)]}
                found += len(doc_gold & suggested)
                offset += int(length)
            out[name] = {
                "kind": "suggester",
                "recall": found / n_gold if n_gold else 0.0,
                "candidates": len(pairs),
                "candidates_per_token": len(pairs) / n_tokens if n_tokens else 0.0,
            }
        elif "max_span_width" in getattr(pipe, "cfg", {}):
            width = pipe.cfg["max_span_width"]
            reach = sum(1 for d in gold for s in d if width is None or s[1] - s[0] <= width)
            out[name] = {
                "kind": "max_span_width",
                "max_span_width": width,
                "recall": reach / n_gold if n_gold else 0.0,
            }
    return out


def contended_words_per_second(
    nlp, texts: List[str], n_words: int, batch_size: int = 64, repeats: int = 1
) -> float:
    """Words/s while a busy-loop process holds a core, with torch at its default
    thread count (one per core) and every component at its own setting: what a
    user gets on a shared machine (our components default to torch_threads = 1).
    """
    import subprocess
    import sys

    try:
        import torch
    except ImportError:  # pragma: no cover - spaCy-only systems
        torch = None
    if torch is not None:
        torch.set_num_threads(max(1, os.cpu_count() or 1))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        list(nlp.pipe(texts[:200], batch_size=batch_size))  # warm-up
        best = float("inf")
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            for _ in nlp.pipe(texts, batch_size=batch_size):
                pass
            best = min(best, time.perf_counter() - start)
    finally:
        busy.kill()
        busy.wait()
        if torch is not None:
            torch.set_num_threads(1)
    return n_words / best


def measure(
    model_dir: Path,
    dev_path: Path,
    spans_key: str = "sc",
    targets: Sequence[str] = ("spans",),
    repeats: int = 1,
) -> Dict:
    nlp = spacy.load(model_dir)
    gold_docs = list(DocBin().from_disk(dev_path).get_docs(nlp.vocab))
    texts = [d.text for d in gold_docs]
    made = [nlp.make_doc(t) for t in texts]
    n_words = sum(len(d) for d in made)
    # Docs the pipeline tokenizes differently: their predicted spans are compared
    # in the gold tokens (in_reference_tokens), as the relation scorer does.
    mismatched = sum(
        1 for m, g in zip(made, gold_docs) if [t.text for t in m] != [t.text for t in g]
    )
    wps = words_per_second(nlp, texts, n_words, repeats=repeats)
    contended_wps = contended_words_per_second(nlp, texts, n_words, repeats=repeats)
    pred_docs = list(nlp.pipe(texts, batch_size=64))
    scores = {}
    for target in targets:
        if target == "spans":
            predicted = in_reference_tokens(span_sets(pred_docs, spans_key), pred_docs, gold_docs)
            scores[target] = score_sets(span_sets(gold_docs, spans_key), predicted)
        elif target == "ents":
            scores[target] = score_sets(ent_sets(gold_docs), in_reference_tokens(ent_sets(pred_docs), pred_docs, gold_docs))
        elif target == "relations":
            scores[target] = relation_scores(gold_docs, pred_docs, spans_key)
        else:
            raise ValueError(f"Unknown score target '{target}': use one of {TARGETS}")
    first = scores[targets[0]]
    result = {
        "model": str(model_dir),
        "overall": first["overall"],
        "by_length": first.get("by_length"),
        "per_type": first["per_type"],
        "scores": scores,
        "words": n_words,
        "docs": len(gold_docs),
        "tokenization_mismatches": mismatched,
        "aligned_to_gold_tokens": True,
        "words_per_second": wps,
        "contended_words_per_second": contended_wps,
        "suggesters": suggester_reach(nlp, texts, gold_docs, spans_key),
    }
    encoder = next((name for name in ENCODERS if name in nlp.pipe_names), None)
    if encoder is not None:
        # Keyed "tok2vec" for every encoder: the report's column compares across systems.
        with nlp.select_pipes(enable=[encoder]):
            result["tok2vec_words_per_second"] = words_per_second(nlp, texts, n_words, repeats=repeats)
        result["head_cost"] = result["words_per_second"] / result["tok2vec_words_per_second"]
    if "relations" in targets:
        # The relation component is the last pipe: its share of the pipeline's time.
        relation_pipe = nlp.pipe_names[-1]
        with nlp.select_pipes(disable=[relation_pipe]):
            result["without_relations_words_per_second"] = words_per_second(nlp, texts, n_words, repeats=repeats)
        result["relation_pipe"] = relation_pipe
        result["relation_head_share"] = 1 - result["words_per_second"] / result["without_relations_words_per_second"]
    return result


def scale_probe(model_dir: str, text_path: str, n_tokens: int, repeats: int = 1) -> Dict:
    """Run the pipeline on ONE document of n_tokens tokens (the docs of
    text_path, a DocBin, joined and repeated). Meant for a fresh process per
    size: peak RSS is the process's. RETURNS (Dict): seconds (fastest of
    `repeats` calls after a warm-up), tok2vec_seconds, peak and pre-inference
    RSS in MB, spans predicted, max_span_width."""
    import resource

    nlp = spacy.load(model_dir)
    words: List[str] = []
    spaces: List[bool] = []
    source = list(DocBin().from_disk(text_path).get_docs(nlp.vocab))
    if not any(len(doc) for doc in source):
        raise ValueError(f"{text_path} holds no tokens to build a {n_tokens}-token document from")
    while len(words) < n_tokens:
        for doc in source:
            words.extend(t.text for t in doc)
            spaces.extend(bool(t.whitespace_) for t in doc)
            if len(words) >= n_tokens:
                break
    words, spaces = words[:n_tokens], spaces[:n_tokens]
    make = lambda n=n_tokens: Doc(nlp.vocab, words=words[:n], spaces=spaces[:n])
    nlp(make(min(n_tokens, 500)))  # warm-up
    peak_mb = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_before = peak_mb()
    timings, tok2vec_timings = [], []
    for _ in range(max(1, repeats)):
        doc = make()
        start = time.perf_counter()
        doc = nlp(doc)
        timings.append(time.perf_counter() - start)
    peak = peak_mb()
    if "tok2vec" in nlp.pipe_names:
        with nlp.select_pipes(enable=["tok2vec"]):
            for _ in range(max(1, repeats)):
                tok2vec_doc = make()
                start = time.perf_counter()
                nlp(tok2vec_doc)
                tok2vec_timings.append(time.perf_counter() - start)
    widths = [p.cfg["max_span_width"] for _, p in nlp.pipeline if "max_span_width" in getattr(p, "cfg", {})]
    return {
        "tokens": len(doc),
        "seconds": min(timings),
        "all_seconds": timings,
        "tok2vec_seconds": min(tok2vec_timings) if tok2vec_timings else None,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "spans": sum(len(group) for group in doc.spans.values()),
        "max_span_width": widths[0] if widths else None,
    }


def relation_scale_probe(model_dir: str, text_path: str, n_tokens: int, repeats: int = 1) -> Dict:
    """scale_probe for a relation pipeline: ONE document of n_tokens tokens,
    timed with and without the relation component (the last pipe). RETURNS
    (Dict): seconds, without_relations_seconds, candidate spans, relations,
    peak RSS."""
    import resource

    from spacy_globalpointer.extensions import relation_records

    nlp = spacy.load(model_dir)
    source = list(DocBin().from_disk(text_path).get_docs(nlp.vocab))
    words: List[str] = []
    while len(words) < n_tokens:
        for doc in source:
            words.extend(t.text for t in doc)
    words = words[:n_tokens]
    make = lambda n=n_tokens: Doc(nlp.vocab, words=words[:n], spaces=[False] * n)
    nlp(make(min(n_tokens, 500)))  # warm-up
    relation_pipe = nlp.pipe_names[-1]
    timings, without = [], []
    for _ in range(max(1, repeats)):
        doc = make()
        start = time.perf_counter()
        doc = nlp(doc)
        timings.append(time.perf_counter() - start)
    with nlp.select_pipes(disable=[relation_pipe]):
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            nlp(make())
            without.append(time.perf_counter() - start)
    return {
        "tokens": len(doc),
        "seconds": min(timings),
        "without_relations_seconds": min(without),
        "spans": sum(len(group) for group in doc.spans.values()),
        "relations": len(relation_records(doc)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "max_pair_distance": nlp.get_pipe(relation_pipe).cfg.get("max_pair_distance"),
        "max_candidates": nlp.get_pipe(relation_pipe).cfg.get("max_candidates"),
    }


def main(
    # fmt: off
    model_dir: Path,
    dev_path: Path,
    spans_key: str = typer.Option("sc", help="doc.spans key to score"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="write the result here"),
    score: List[str] = typer.Option(["spans"], "--score", help="what to score: spans (doc.spans[key]) and/or ents (doc.ents); repeat the option for both"),
    repeats: int = typer.Option(1, "--repeats", help="timed passes per throughput figure (the fastest is kept)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    code: Optional[Path] = typer.Option(None, "--code", help="Python file with the pipeline's own registered functions"),
    # fmt: on
) -> None:
    if code is not None:
        spacy.util.import_file("benchmark_code", code)
    for target in score:
        if target not in TARGETS:
            msg.fail(f"--score {target}: use one of {', '.join(TARGETS)}", exits=1)
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    result = measure(model_dir, dev_path, spans_key, targets=score, repeats=repeats)
    for target, scores in result["scores"].items():
        o = scores["overall"]
        msg.info(f"{model_dir} [{target}]: P {o['p']:.4f} R {o['r']:.4f} F {o['f']:.4f}")
        for name, row in (scores.get("by_length") or scores.get("by_entities")).items():
            msg.text(f"  length {name}: F {row['f']:.4f} (P {row['p']:.4f} R {row['r']:.4f}, {row['n_gold']} gold)")
    msg.text(f"  words/s {result['words_per_second']:.0f} (beside a busy core: {result['contended_words_per_second']:.0f})" + (
        f", tok2vec alone {result['tok2vec_words_per_second']:.0f}" if "tok2vec_words_per_second" in result else ""))
    for name, reach in result["suggesters"].items():
        msg.text(f"  {name}: reaches {reach['recall']:.2%} of the gold spans ({reach['kind']})")
    if result["tokenization_mismatches"]:
        msg.warn(f"{result['tokenization_mismatches']} docs tokenized differently from the gold docs: their predicted spans are compared in the gold tokens")
    if json_path:
        json_path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
