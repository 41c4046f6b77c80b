"""Coded error and warning messages: each says what went wrong and what to do next."""


class Errors:
    E001 = (
        "[E001] spacy-globalpointer needs PyTorch. Install it first, e.g. "
        "`pip install torch==2.13.0` (CPU) or the CUDA build for your GPU."
    )
    E002 = (
        "[E002] The component '{name}' has no labels. Add them with "
        "`nlp.get_pipe('{name}').add_label(...)`, pass `labels` to `initialize` "
        "(what `spacy init labels` produces), or provide training examples with "
        "{source}."
    )
    E003 = (
        "[E003] The component '{name}' was used before it was initialized. Call "
        "`nlp.initialize()` (or train it with `spacy train`) before running it, "
        "or load a trained pipeline with `spacy.load`."
    )
    E005 = (
        "[E005] The GlobalPointer head needs its input width (nI) and number of "
        "labels (nO) before it can be built. Initialize the component first."
    )
    E006 = "[E006] The GlobalPointer head was run before it was initialized."
    E007 = (
        "[E007] The gold span '{text}' in doc.spans['{key}'] has the label "
        "'{label}', which the component '{name}' does not know (its labels: "
        "{labels}). Add the label before training: pass it in "
        "`initialize(labels=...)` / rerun `spacy init labels` on this data, or "
        "leave `labels` unset so they are read from the training data."
    )
    E008 = (
        "[E008] Cannot add the label '{label}' to '{name}' after it was "
        "initialized: the head's size is fixed. Add all labels before "
        "`nlp.initialize()`."
    )
    E009 = "[E009] Labels must be non-empty strings, got {label!r}."
    E011 = "[E011] max_spans_per_token must be positive, got {value!r}."
    E012 = "[E012] loss_rows must be one of {options}, got {value!r}."
    E013 = (
        "[E013] Doc._.{attr} is already registered by another package (getter "
        "{getter!r}) with a meaning spacy-globalpointer cannot share. Remove that "
        "extension (`Doc.remove_extension('{attr}')`) before loading this plugin."
    )
    E014 = "[E014] Expected a {kind} record (from spacy_globalpointer import {kind}), got {value!r}."
    E015 = "[E015] Event arguments must be (role, Span) pairs, got {value!r}."
    E016 = "[E016] The {what} must be a spaCy Span, got {value!r}."
    E017 = (
        "[E017] The {what} '{text}' belongs to another Doc than {doc}. Make the "
        "span from this doc, e.g. `doc.char_span(start, end, label=...)`."
    )
    E018 = (
        "[E018] The {what} covers tokens [{start}, {end}), which do not lie inside "
        "the doc {doc} of {n} tokens. Build it from this doc's own tokens."
    )
    E020 = (
        "[E020] head_size must be even when use_rope is on (RoPE rotates pairs of "
        "features), got {value!r}. Use an even head_size such as 64."
    )
    E022 = (
        "[E022] Span pooling (pooling_size > 0) scores spans in the band layout only; "
        "set pooling_size = 0 for relation or link heads."
    )
    E023 = (
        "[E023] Scores of chosen cells are for inference only: train the pair "
        "heads on whole documents (call the model with docs, not (docs, cells))."
    )
    E024 = "[E024] {name} must be an integer >= {minimum}{none}, got {value!r}."
    E025 = "[E025] threshold must be a finite number (a logit; 0.0 is probability 0.5), got {value!r}."
    E026 = (
        "[E026] A gold relation has the predicate '{label}', which the component "
        "'{name}' does not know (its predicates: {labels}). Add it before training: "
        "pass it in `initialize(labels=...)` / rerun `spacy init labels` on this "
        "data, or leave `labels` unset so they are read from the training data."
    )
    E027 = (
        "[E027] A gold event of type '{event_type}' has the role '{role}', which the "
        "component '{name}' does not know (its type::role labels: {labels}). Add it "
        "before training: pass it in `initialize(labels=...)` / rerun `spacy init "
        "labels` on this data, or leave `labels` unset so they are read from the data."
    )
    E028 = (
        "[E028] Event labels are 'event_type{sep}role' with a non-empty type and role, "
        "and a role without '{sep}'; got {label!r}."
    )
    E029 = (
        "[E029] calibration.source must be one of {options}, got {value!r}: 'heldout' "
        "keeps one training doc in `heldout_one_in` out of the loss and calibrates on "
        "it, 'inference' rescores recent training docs as at inference (no dropout), "
        "'batches' uses the training pass's own scores, 'auto' is 'heldout' on a "
        "transformer and 'batches' otherwise."
    )
    E030 = "[E030] A pair layout's kind must be one of {kinds}, got {kind!r}."
    E031 = (
        "[E031] Docs whose pair layouts differ (a full matrix and a band) were padded "
        "together. This is a bug in spacy-globalpointer's bucketing: please report it."
    )
    E032 = "[E032] link_scope must be one of {options}, got {value!r}: 'sentence' links spans within one sentence where the doc has sentence boundaries, 'doc' across the whole doc."
    E033 = "[E033] calibration.guard_confidence must be a number in [0.5, 1], got {value!r}."
    E034 = "[E034] event_grouping must be one of {options}, got {value!r}: 'cliques' (GPLinker's linked groups), 'triggers' (each trigger with the arguments linked to it) or 'types' (one event per type, the links' ablation)."
    E035 = "[E035] paragraph_share must be a number in [0, 1] (the share of training docs joined into paragraphs), got {value!r}."
    E036 = (
        "[E036] cell_loss_weight must be a number from 0 to 1, got {value!r}: how much the "
        "head-pair and tail-pair cells' loss counts (0: untrained, for span-pair scores)."
    )
    E037 = (
        "[E037] loss_mean must be one of {options}, got {value!r}: 'docs' sums each loss "
        "over the predicates and averages over docs (GPLinker), 'rows' averages over "
        "(doc, predicate) rows."
    )
    E038 = (
        "[E038] encoder_grad_scale must be a number from 0 to 1, got {value!r}: the share "
        "of the relation head's gradient that reaches the token encoder it shares with "
        "the entity head (1: all of it, as in GPLinker; 0: none, the encoder learns from "
        "the entity head alone)."
    )
    E039 = (
        "[E039] label_triples must be one of {options}, got {value!r}: 'seen' keeps a "
        "relation only if its (head label, predicate, tail label) occurs in the training "
        "gold, 'typed' also gives a pair of spans whose labels were never seen with the "
        "predicate the labels it was seen with where that is one choice, 'any' keeps "
        "every label pair."
    )
    E040 = (
        "[E040] argument_labels must be one of {options}, got {value!r}: 'typed' scores "
        "every (event type, role) as a label of its own (GPLinker), 'roles' scores each "
        "role once for all event types and types an argument by the trigger it is linked to."
    )
    E041 = (
        "[E041] candidate_link_weight must be a number from 0 to 10, got {value!r}: the "
        "weight of the link loss over pairs of gold arguments that decoding would try, "
        "beside GPLinker's loss over every cell (0: GPLinker's loss alone)."
    )
    E042 = (
        "[E042] link_encoder_grad_scale must be a number from 0 to 1, got {value!r}: the "
        "share of the span-pair link loss's gradient that reaches the token encoder (1: "
        "all of it; 0: none, the link scorer learns on top of the encoder the argument "
        "loss trains)."
    )
    E043 = (
        "[E043] '{name}': link_predicted_triggers = true needs the span-pair link scorer "
        "(the model's link_pair_width > 0): with the link cells (link_pair_width = 0) "
        "there is no scorer for it to train. Set link_predicted_triggers = false or give "
        "the model a link_pair_width."
    )
    E044 = (
        "[E044] overlapping_arguments must be one of {options}, got {value!r}: 'best' keeps "
        "the best-scoring of the spans of one label that overlap in one window, 'all' "
        "(GPLinker's) keeps every span over the threshold."
    )
    E045 = (
        "[E045] calibration_entities must be one of {options}, got {value!r}: 'predicted' "
        "calibrates the relation threshold on the pairs of the spans the upstream component "
        "predicted on the calibration docs (what the decoder tries), 'gold' on the pairs of "
        "their gold entities and near misses."
    )
    E046 = (
        "[E046] calibration_arguments must be one of {options}, got {value!r}: 'predicted' "
        "calibrates the link threshold on the events decoded from the arguments the component "
        "predicts on the calibration docs (the co-event argument pairs of its output), 'gold' on "
        "the pairs of their gold arguments."
    )
    E150 = (
        "[E150] Cannot load the component '{name}': its file {path} is missing. "
        "{why} The pipeline folder is incomplete: copy or unpack it again in full, "
        "save it again with `nlp.to_disk(...)` from a loaded pipeline, or retrain it."
    )
    E151 = (
        "[E151] Cannot load the component '{name}': its file {path} is damaged or "
        "belongs to another component ({error}). {hint}Copy or unpack the pipeline "
        "folder again in full (an interrupted copy or download leaves truncated "
        "files), save it again with `nlp.to_disk(...)` from a loaded pipeline, or "
        "retrain it."
    )
    E152 = (
        "[E152] Cannot load the component '{name}' from bytes: {what} ({error}). "
        "{hint}Pass the complete, unchanged bytes that `to_bytes()` of this kind of "
        "component (or `nlp.to_bytes()` of its pipeline) returned."
    )
    # E120-E139: the converter (spacy_globalpointer.convert).
    E120 = (
        "[E120] {path} holds no records to convert (format {format}): the file is "
        "empty, blank or an empty JSON array. Check the path and --format."
    )

    # E100-E119: annotate (spacy_globalpointer/annotate).
    E100 = (
        "[E100] The output directory {output} holds the output of an annotate run "
        "with other settings (changed: {changed}). Rerun with the same MODEL, INPUT "
        "and options to finish it, choose another --output, or pass --overwrite to "
        "delete its shards and start again."
    )
    E101 = "[E101] No input file matches '{pattern}'. Pass files, directories or glob patterns that exist."
    E102 = (
        "[E102] Cannot tell the format of the input file '{file}' from its suffix "
        "(known: {suffixes}). Rename it or pass --input-format jsonl, text or parquet."
    )
    E103 = (
        "[E103] {what} needs {package}, which is not installed. Install it with "
        "`pip install \"spacy-globalpointer[distributed]\"`."
    )
    E104 = (
        "[E104] A worker failed on shard {shard} (input {file}). The shards finished "
        "so far are kept: fix the cause and rerun the same command to do the rest. "
        "With workers > 1 from a Python script, start it under `if __name__ == "
        "'__main__':` (the workers are spawned processes). The error: {error}"
    )
    E105 = (
        "[E105] Cannot find the model '{model}': it is neither a directory nor an "
        "installed pipeline package. Pass a model directory (e.g. training/model-best) "
        "or a package name (`pip install` it first)."
    )
    E106 = "[E106] {name} must be one of {options}, got {value!r}."

class Warnings:
    W003 = (
        "[W003] mixed_precision is only used on a GPU (torch autocast and "
        "gradient scaling need CUDA); the GlobalPointer head runs in float32 on the CPU."
    )
    W004 = (
        "[W004] {n} of {total} gold relations of the training data join tokens "
        "max_pair_distance={distance} or more apart and can never be predicted by "
        "'{name}'. Raise max_pair_distance (or set it to null) if they matter."
    )
    W005 = (
        "[W005] {n} of {total} gold relations of the initialization data have a "
        "span that does not align with the predicted tokenization and are left out "
        "of training by '{name}'. Check the tokenizer."
    )
    W006 = (
        "[W006] '{name}' found no doc.spans['{key}'] to link: put a span component "
        "(globalpointer, spancat) before it, or set use_ents = true after `ner`. "
        "Docs without those spans get no relations."
    )
    W007 = (
        "[W007] '{name}' read {events} gold events with {arguments} arguments "
        "(triggers included): {no_trigger} events have no trigger (kept; their "
        "arguments and links are learned, but decoding only ever predicts events with "
        "one), {misaligned} arguments do not align with the predicted tokenization "
        "(left out), {too_wide} are wider than max_argument_width={width} and "
        "{too_far} argument pairs lie max_pair_distance={distance} or more tokens "
        "apart (never predicted). Raise those settings if these counts matter."
    )
    W008 = (
        "[W008] '{name}' calibrates its threshold on training docs scored as at "
        "inference, but was initialized without the pipeline (`initialize(..., "
        "nlp=nlp)`), so the components before it cannot run: the docs are scored "
        "with whatever annotations they already carry."
    )
    W001 = (
        "[W001] {n_long} of {n_total} gold spans in doc.spans['{key}'] of the "
        "training data are longer than max_span_width={width} tokens (longest: "
        "{longest}) and can never be predicted by '{name}'. Raise "
        "max_span_width (or set it to null) if they matter."
    )
    W002 = (
        "[W002] {n_misaligned} of {n_total} gold spans in doc.spans['{key}'] of the "
        "initialization data do not align with the predicted tokenization and "
        "are left out of training (as in spancat). Check the tokenizer."
    )
    W009 = (
        "[W009] '{name}' links at most {limit} {what} {distance} in one window ({scope}): "
        "{cut} of {total} {what} in {docs} "
        "docs were left out, the lowest-scoring first. Raise {setting} if they matter."
    )
    W010 = (
        "[W010] '{name}' found gold annotations in the training data that look wrong: "
        "{details}. They are learned as given (a duplicate once): check the data or "
        "the converter that wrote it."
    )
    W011 = "[W011] The evaluation data has {problem}. {hint}"
    # W120-W129: the converter (spacy_globalpointer.convert).
    W120 = (
        "[W120] The texts look space-separated ({ascii_pct}% of their letters are "
        "ASCII, in {n_records} records sampled) but lang is '{lang}', which {effect}. "
        "Pass the data's language, e.g. --lang en (lang='en' in Python)."
    )
