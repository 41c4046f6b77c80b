"""Write the shipped sample corpus: short English docs with nested entities.

The sentences are generated from our own templates and invented names, so the
sample can ship with the project. Patterns repeat on purpose: a small CNN must be
able to learn them in a few hundred steps, so the `all` workflow shows real
scores. Nesting follows one consistent rule, so it is learnable too: a name that
is an entity on its own is also annotated inside a longer entity
("University of Lisbon Medical School" is ORG and contains ORG "University of
Lisbon", which contains LOC "Lisbon").

Every offset is checked against spaCy's English tokenizer before writing.
"""
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import spacy
import typer
from wasabi import msg

Entity = Tuple[int, int, str]
Piece = Tuple[str, List[Entity]]  # text with entities relative to it

LABELS = ("ORG", "LOC", "PER", "DATE", "PRODUCT")
MIN_TOKENS, MAX_TOKENS = 5, 40
NESTED_SHARE = 0.25  # share of docs that get a nested entity
PLAIN_SHARE = 0.07  # share of docs without any entity

FIRST = ["Anna", "Tomas", "Priya", "Kwame", "Elena", "Marcus", "Sofia", "Daniel", "Yara",
         "Lukas", "Amara", "Jonah", "Mei", "Oskar", "Leila", "Rafael", "Ingrid", "Samuel",
         "Nadia", "Felix", "Hana", "Victor"]
LAST = ["Lindqvist", "Okafor", "Marlow", "Brennan", "Castell", "Novak", "Haddad",
        "Ferreira", "Kowalski", "Ashdown", "Tanaka", "Moreau", "Oduya", "Whitcombe",
        "Varga", "Quill", "Rosen", "Achebe", "Dunmore", "Salas"]
# Single-token places: these are also the ones nested inside ORG and PER names.
PLACES = ["Edinburgh", "Lisbon", "England", "Ontario", "Bergen", "Porto", "Kyoto",
          "Nairobi", "Galway", "Dundee", "Krakow", "Malaga", "Quebec", "Tasmania",
          "Bavaria", "Texas", "Valencia", "Oslo", "Cork", "Adelaide"]
MULTI_PLACES = ["New Harbour", "Port Elwood", "Lake Marrow", "East Calder", "North Vale",
                "San Aurelio"]
FLAT_ORGS = ["Northwind Logistics", "Greyline Media", "Oakridge Partners", "Meridian Freight",
             "Bluefen Analytics", "Harlow Foods", "Stillwater Trust", "Copperleaf Studios",
             "Red Fern Bakery", "Alder Health"]
BRANDS = ["Corvane", "Kestrel", "Brightwater", "Solvantis", "Veltro", "Ardent", "Lumio"]
MODELS = ["Pulse 3", "Aero 5", "Nova 10", "Drift 200", "Halo Mini", "Atlas 12", "Vista Pro",
          "Echo 7", "Orbit Max"]
# "{L}" is a nested LOC; the ORG around it is annotated as a whole.
ORG_PATTERNS = ["University of {L}", "Bank of {L}", "{L} City Council", "{L} General Hospital",
                "{L} Chamber of Commerce", "{L} Institute of Technology", "{L} Football Club",
                "Royal {L} Orchestra", "Port of {L} Authority"]
TITLES = ["Mayor of {L}", "Governor of {L}", "Ambassador to {L}", "Bishop of {L}"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Slots: {PER} {ORG} {LOC} {PRODUCT} {DAY} ("on ..."), {MONTH} ("in ..."), {YEAR}.
TEMPLATES = [
    "{PER} joined {ORG} in {MONTH}.",
    "{ORG} opened a new office in {LOC} on {DAY}.",
    "{PER} was born in {LOC} in {YEAR}.",
    "According to {PER}, the {PRODUCT} sold out within a week.",
    "{ORG} will release the {PRODUCT} in {MONTH}.",
    "Researchers at {ORG} studied rainfall in {LOC} for three years.",
    "{PER} and {PER} met in {LOC} to discuss the merger.",
    "Shares in {ORG} rose sharply after the announcement on {DAY}.",
    "The {PRODUCT} is assembled in {LOC} and shipped all over the world.",
    "{PER} told reporters that {ORG} had no plans to leave {LOC}.",
    "On {DAY}, {PER} visited {LOC} for the first time.",
    "A spokesperson for {ORG} declined to comment.",
    "{PER} reviewed the {PRODUCT} and called it reliable but expensive.",
    "The conference in {LOC} ended on {DAY}.",
    "{ORG} has hired {PER} as its new director.",
    "Flights between {LOC} and {LOC} were cancelled on {DAY}.",
    "{PER} spent ten years at {ORG} before moving to {LOC}.",
    "Customers in {LOC} can order the {PRODUCT} from {DAY}.",
    "The exhibition organised by {ORG} runs until {DAY}.",
    "{PER} thanked the staff of {ORG} for their support.",
    "Local officials in {LOC} approved the plan in {MONTH}.",
    "{ORG} and {ORG} announced a joint research programme.",
    "The {PRODUCT} replaced the older model in {YEAR}.",
    "{PER} lives near {LOC} with two dogs and a cat.",
    "In {YEAR}, {ORG} moved its headquarters to {LOC}.",
    "{PER} has written three books about {LOC}.",
    "Engineers at {ORG} tested the {PRODUCT} in {LOC}.",
    "{PER} will give a talk at {ORG} on {DAY}.",
    "Heavy snow closed the roads around {LOC} on {DAY}.",
    "{PER} bought a {PRODUCT} as a birthday present.",
    "Students from {ORG} volunteered in {LOC} over the summer.",
    "{PER} confirmed that the {PRODUCT} would be cheaper than its predecessor.",
    "The number of visitors to {LOC} rose by ten percent in {YEAR}.",
    "{ORG} reported record profits for {YEAR}.",
    "{PER}, who grew up in {LOC}, now works for {ORG}.",
    "Is the {PRODUCT} really worth the price?",
    "{PER} met {PER} at a small cafe in {LOC}.",
    "The board of {ORG} will meet again in {MONTH}.",
    "{PER} left {ORG} in {YEAR} to start a company in {LOC}.",
    "Police in {LOC} are looking for a stolen {PRODUCT}.",
    "My sister works for {ORG} and loves her job.",
    "{PER} was appointed chair of {ORG} on {DAY}.",
    "The festival in {LOC} attracted thousands of people in {MONTH}.",
    "Why did {ORG} stop selling the {PRODUCT}?",
    "{PER} said the new rules would take effect on {DAY}.",
    "We drove from {LOC} to {LOC} in one long day.",
]
# Sentences without entities: some docs have none at all.
PLAIN = [
    "The meeting was postponed because of the weather.",
    "Nobody expected the results to be so close.",
    "Prices for fresh vegetables have gone up again.",
    "Most of the volunteers arrived early and stayed late.",
    "The committee will publish its findings soon.",
    "It rained all afternoon, so the match was called off.",
    "Several readers wrote in to complain about the changes.",
    "The train was delayed for almost an hour.",
    "Our team finished the project ahead of schedule.",
    "Please remember to bring a pen and some paper.",
    "The old library is closed for repairs.",
    "Two people were slightly injured in the accident.",
]


class Generator:
    """Fill templates with entities; `nested` asks for one slot to hold a nested entity."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def person(self) -> Piece:
        text = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
        return text, [(0, len(text), "PER")]

    def place(self, single: bool = False) -> Piece:
        pool = PLACES if single or self.rng.random() < 0.75 else MULTI_PLACES
        text = self.rng.choice(pool)
        return text, [(0, len(text), "LOC")]

    def flat_org(self) -> Piece:
        text = self.rng.choice(FLAT_ORGS + BRANDS)
        return text, [(0, len(text), "ORG")]

    def nested_org(self) -> Piece:
        pattern = self.rng.choice(ORG_PATTERNS)
        place = self.rng.choice(PLACES)
        text = pattern.replace("{L}", place)
        loc_start = pattern.index("{L}")
        ents = [(0, len(text), "ORG"), (loc_start, loc_start + len(place), "LOC")]
        if pattern == "University of {L}" and self.rng.random() < 0.5:
            school = " Medical School"
            ents.append((0, len(text) + len(school), "ORG"))
            text += school
        return text, ents

    def titled_person(self) -> Piece:
        title = self.rng.choice(TITLES)
        place = self.rng.choice(PLACES)
        name, _ = self.person()
        prefix = title.replace("{L}", place) + " "
        loc_start = title.index("{L}")
        text = prefix + name
        return text, [
            (0, len(text), "PER"),
            (loc_start, loc_start + len(place), "LOC"),
            (len(prefix), len(text), "PER"),
        ]

    def product(self, branded: bool) -> Piece:
        model = self.rng.choice(MODELS)
        if not branded:
            return model, [(0, len(model), "PRODUCT")]
        brand = self.rng.choice(BRANDS)
        text = f"{brand} {model}"
        return text, [(0, len(text), "PRODUCT"), (0, len(brand), "ORG")]

    def date(self, kind: str) -> Piece:
        year = str(self.rng.randint(1998, 2024))
        if kind == "YEAR":
            text = year
        elif kind == "MONTH":
            month = self.rng.choice(MONTHS)
            text = f"{month} {year}" if self.rng.random() < 0.7 else month
        else:
            roll = self.rng.random()
            if roll < 0.5:
                text = f"{self.rng.randint(1, 28)} {self.rng.choice(MONTHS)} {year}"
            elif roll < 0.8:
                text = self.rng.choice(WEEKDAYS)
            else:
                text = f"{self.rng.choice(MONTHS)} {self.rng.randint(1, 28)}"
        return text, [(0, len(text), "DATE")]

    def fill(self, slot: str, nested: bool) -> Piece:
        if slot == "PER":
            return self.titled_person() if nested else self.person()
        if slot == "ORG":
            return self.nested_org() if nested else self.flat_org()
        if slot == "PRODUCT":
            return self.product(branded=nested)
        if slot == "LOC":
            return self.place()
        return self.date(slot)

    def sentence(self, template: str, nested: bool) -> Piece:
        """Fill the template; if `nested`, one nestable slot gets a nested entity."""
        parts = template.replace("}", "{").split("{")
        slots = [i for i in range(1, len(parts), 2)]
        nestable = [i for i in slots if parts[i] in ("PER", "ORG", "PRODUCT")]
        chosen = self.rng.choice(nestable) if nested and nestable else None
        text, ents = "", []
        used: set = set()
        for i, part in enumerate(parts):
            if i % 2 == 0:
                text += part
                continue
            piece, piece_ents = self.fill(part, nested=(i == chosen))
            while piece in used:  # no "between Oslo and Oslo"
                piece, piece_ents = self.fill(part, nested=(i == chosen))
            used.add(piece)
            ents.extend((s + len(text), e + len(text), label) for s, e, label in piece_ents)
            text += piece
        return text[0].upper() + text[1:], ents

    def doc(self, nested: bool, plain: bool) -> Piece:
        if plain:
            text = self.rng.choice(PLAIN)
            if self.rng.random() < 0.3:
                text += " " + self.rng.choice([p for p in PLAIN if p != text])
            return text, []
        nestable = [t for t in TEMPLATES if any(s in t for s in ("{PER}", "{ORG}", "{PRODUCT}"))]
        first = self.sentence(self.rng.choice(nestable if nested else TEMPLATES), nested)
        if self.rng.random() >= 0.3:
            return first
        second = (
            (self.rng.choice(PLAIN), [])
            if self.rng.random() < 0.4
            else self.sentence(self.rng.choice(TEMPLATES), nested=False)
        )
        offset = len(first[0]) + 1
        ents = first[1] + [(s + offset, e + offset, label) for s, e, label in second[1]]
        return first[0] + " " + second[0], ents


def has_nesting(ents: List[Entity]) -> bool:
    return any(
        a != b and a[0] <= b[0] and b[1] <= a[1] for a in ents for b in ents
    )


def make_split(gen: Generator, n: int, seen: set) -> List[Dict]:
    """Exact shares of nested and entity-free docs, in shuffled order."""
    n_nested, n_plain = round(n * NESTED_SHARE), round(n * PLAIN_SHARE)
    kinds = ["nested"] * n_nested + ["plain"] * n_plain + ["flat"] * (n - n_nested - n_plain)
    gen.rng.shuffle(kinds)
    records: List[Dict] = []
    while len(records) < n:
        kind = kinds[len(records)]
        text, ents = gen.doc(nested=kind == "nested", plain=kind == "plain")
        if text in seen:
            continue
        seen.add(text)
        spans = [{"start": s, "end": e, "label": label} for s, e, label in sorted(
            set(ents), key=lambda x: (x[0], -x[1], x[2]))]
        records.append({"text": text, "spans": spans})
    return records


def check(records: List[Dict], name: str, nlp) -> Dict[str, float]:
    """Assert that offsets match token boundaries and the sample has the intended shape."""
    n_nested = n_empty = 0
    labels = set()
    for i, rec in enumerate(records):
        doc = nlp.make_doc(rec["text"])
        assert MIN_TOKENS <= len(doc) <= MAX_TOKENS, f"{name}[{i}]: {len(doc)} tokens"
        ents = [(sp["start"], sp["end"], sp["label"]) for sp in rec["spans"]]
        for start, end, label in ents:
            span = doc.char_span(start, end, label=label, alignment_mode="strict")
            assert span is not None, f"{name}[{i}]: {rec['text'][start:end]!r} off token boundaries"
            assert span.text == span.text.strip(), f"{name}[{i}]: whitespace in {span.text!r}"
            labels.add(label)
        n_nested += has_nesting(ents)
        n_empty += not ents
    share = n_nested / len(records)
    assert 0.2 <= share <= 0.3, f"{name}: {share:.0%} of docs have nesting, want 20-30%"
    assert n_empty > 0, f"{name}: no doc without entities"
    assert labels == set(LABELS), f"{name}: labels {sorted(labels)}"
    return {"docs": len(records), "nested": n_nested, "no entities": n_empty}


# ---------------------------------------------------------------------------
# The relations sample: the same names, with predicates between the entities.
#
# Relations follow fixed rules, so they can be learnt from 200 docs: a nested
# "<pattern> {L}" ORG is located_in its LOC, a "University of {L} Medical
# School" is part_of its "University of {L}" (two ORGs sharing a start), and a
# partnership holds in both directions. A doc's relations index its spans list.

PREDICATES = ("works_for", "located_in", "founded", "part_of", "lives_in", "partner_of")
REL_LABELS = ("PER", "ORG", "LOC", "DATE")
REL_NESTED_SHARE = 0.3  # share of docs with a nested ORG
REL_NONE_SHARE = 0.08  # share of docs with entities but no relations

# (template, [(head slot, predicate, tail slot)]); slots count from 0 in order.
REL_TEMPLATES: List[Tuple[str, List[Tuple[int, str, int]]]] = [
    ("{PER} works for {ORG}.", [(0, "works_for", 1)]),
    ("{PER} joined {ORG} in {MONTH}.", [(0, "works_for", 1)]),
    ("{ORG} has hired {PER} as its new director.", [(1, "works_for", 0)]),
    ("{PER} founded {ORG} in {YEAR}.", [(0, "founded", 1)]),
    ("{ORG} was founded by {PER} in {YEAR}.", [(1, "founded", 0)]),
    ("{PER} founded {ORG} and still works there.", [(0, "founded", 1), (0, "works_for", 1)]),
    ("{PER} lives in {LOC}.", [(0, "lives_in", 1)]),
    ("{PER} lives near {LOC} with two dogs and a cat.", [(0, "lives_in", 1)]),
    ("{PER}, who lives in {LOC}, works for {ORG}.", [(0, "lives_in", 1), (0, "works_for", 2)]),
    ("{ORG} is based in {LOC}.", [(0, "located_in", 1)]),
    ("In {YEAR}, {ORG} moved its headquarters to {LOC}.", [(1, "located_in", 2)]),
    ("{ORG} is a division of {ORG}.", [(0, "part_of", 1)]),
    ("{ORG} became part of {ORG} in {YEAR}.", [(0, "part_of", 1)]),
    ("{ORG} and {ORG} signed a partnership in {MONTH}.", [(0, "partner_of", 1), (1, "partner_of", 0)]),
    ("{ORG} has worked with {ORG} since {YEAR}.", [(0, "partner_of", 1), (1, "partner_of", 0)]),
    ("{LOC} is a small town in {LOC}.", [(0, "located_in", 1)]),
    ("{PER} left {ORG} and moved to {LOC}.", [(0, "lives_in", 2)]),
    ("{PER} and {PER} both work for {ORG} in {LOC}.",
     [(0, "works_for", 2), (1, "works_for", 2), (2, "located_in", 3)]),
    ("{PER} founded {ORG}, which later became part of {ORG}.", [(0, "founded", 1), (1, "part_of", 2)]),
]
# Entities, but nothing links them.
REL_NONE_TEMPLATES = [
    "The conference in {LOC} ended on {DAY}.",
    "{PER} met {PER} at a small cafe on {DAY}.",
    "Heavy snow closed the roads around {LOC} on {DAY}.",
    "A spokesperson for {ORG} declined to comment on {DAY}.",
    "{PER} has written three books about {LOC}.",
    "Flights between {LOC} and {LOC} were cancelled on {DAY}.",
]
NESTED_ORG_PATTERNS = ["University of {L}", "Bank of {L}", "{L} City Council", "{L} General Hospital",
                       "{L} Institute of Technology", "Port of {L} Authority"]

RelPiece = Tuple[str, List[Entity], List[Tuple[int, str, int]]]  # entity 0 fills the slot


class RelationGenerator(Generator):
    """Fill relation templates; entity and relation indices are local to a piece until joined."""

    def slot(self, slot: str, nested: bool) -> RelPiece:
        if slot == "ORG" and nested:
            return self.nested_org_with_relations()
        if slot == "LOC":
            text, ents = self.place()
        elif slot == "PER":
            text, ents = self.person()
        elif slot == "ORG":
            text, ents = self.flat_org()
        else:
            text, ents = self.date(slot)
        return text, ents, []

    def nested_org_with_relations(self) -> RelPiece:
        pattern = self.rng.choice(NESTED_ORG_PATTERNS)
        place = self.rng.choice(PLACES)
        text = pattern.replace("{L}", place)
        loc = pattern.index("{L}")
        org, loc_ent = (0, len(text), "ORG"), (loc, loc + len(place), "LOC")
        if pattern == "University of {L}" and self.rng.random() < 0.5:
            text += " Medical School"
            school = (0, len(text), "ORG")
            return text, [school, org, loc_ent], [(1, "located_in", 2), (0, "part_of", 1)]
        return text, [org, loc_ent], [(0, "located_in", 1)]

    def relation_doc(self, kind: str) -> Tuple[str, List[Entity], List[Tuple[int, str, int]]]:
        """kind: "nested" (one ORG slot nested), "flat" or "none" (entities, no relations)."""
        if kind == "none":
            template, relations = self.rng.choice(REL_NONE_TEMPLATES), []
        else:
            choices = REL_TEMPLATES
            if kind == "nested":  # an ORG slot that is not itself placed by the template
                choices = [(t, r) for t, r in REL_TEMPLATES if _nestable_org_slots(t, r)]
            template, relations = self.rng.choice(choices)
        parts = template.replace("}", "{").split("{")
        slot_names = parts[1::2]
        nestable = _nestable_org_slots(template, relations) if kind == "nested" else []
        chosen = self.rng.choice(nestable) if nestable else None
        text, ents, rels = "", [], []
        slot_entity: List[int] = []
        used: set = set()
        for i, part in enumerate(parts):
            if i % 2 == 0:
                text += part
                continue
            n = i // 2
            piece, piece_ents, piece_rels = self.slot(part, nested=(n == chosen))
            while piece in used:
                piece, piece_ents, piece_rels = self.slot(part, nested=(n == chosen))
            used.add(piece)
            base = len(ents)
            slot_entity.append(base)
            ents.extend((s + len(text), e + len(text), label) for s, e, label in piece_ents)
            rels.extend((h + base, p, t + base) for h, p, t in piece_rels)
            text += piece
        assert len(slot_entity) == len(slot_names)
        rels.extend((slot_entity[h], p, slot_entity[t]) for h, p, t in relations)
        return text[0].upper() + text[1:], ents, rels


def _nestable_org_slots(template: str, relations: List[Tuple[int, str, int]]) -> List[int]:
    """ORG slots a nested ORG may fill: not the head of the template's own located_in."""
    names = template.replace("}", "{").split("{")[1::2]
    placed = {h for h, p, _ in relations if p == "located_in"}
    return [i for i, name in enumerate(names) if name == "ORG" and i not in placed]


def make_relation_split(gen: RelationGenerator, n: int, seen: set) -> List[Dict]:
    """Exact shares of nested and relation-free docs; spans sorted, relations re-indexed."""
    n_nested, n_none = round(n * REL_NESTED_SHARE), round(n * REL_NONE_SHARE)
    kinds = ["nested"] * n_nested + ["none"] * n_none + ["flat"] * (n - n_nested - n_none)
    gen.rng.shuffle(kinds)
    records: List[Dict] = []
    while len(records) < n:
        text, ents, rels = gen.relation_doc(kinds[len(records)])
        if text in seen:
            continue
        seen.add(text)
        order = sorted(set(ents), key=lambda x: (x[0], -x[1], x[2]))
        index = {ent: i for i, ent in enumerate(order)}
        spans = [{"start": s, "end": e, "label": label} for s, e, label in order]
        relations = sorted(
            {(index[ents[h]], index[ents[t]], p) for h, p, t in rels}, key=lambda x: (x[0], x[1], x[2])
        )
        records.append({
            "text": text,
            "spans": spans,
            "relations": [{"head": h, "tail": t, "label": p} for h, t, p in relations],
        })
    return records


def relation_properties(rec: Dict) -> Dict[str, bool]:
    """Which of the shapes the sample must show this record has."""
    spans = [(sp["start"], sp["end"]) for sp in rec["spans"]]
    pairs = {(r["head"], r["tail"]) for r in rec["relations"]}
    uses = Counter(i for r in rec["relations"] for i in (r["head"], r["tail"]))
    return {
        "nested": has_nesting([(s, e, "") for s, e in spans]),
        "shared start": len({s for s, _ in spans}) < len(spans),
        "both directions": any((t, h) in pairs for h, t in pairs),
        "entity in several relations": any(n >= 2 for n in uses.values()),
        "no relations": bool(spans) and not rec["relations"],
    }


def check_relations(records: List[Dict], name: str, nlp) -> Dict[str, int]:
    """Assert token-aligned offsets, valid relation indices, and every required shape."""
    counts: Counter = Counter()
    labels, predicates = set(), set()
    for i, rec in enumerate(records):
        doc = nlp.make_doc(rec["text"])
        assert MIN_TOKENS <= len(doc) <= MAX_TOKENS, f"{name}[{i}]: {len(doc)} tokens"
        for sp in rec["spans"]:
            span = doc.char_span(sp["start"], sp["end"], label=sp["label"], alignment_mode="strict")
            assert span is not None, f"{name}[{i}]: {rec['text'][sp['start']:sp['end']]!r} off token boundaries"
            labels.add(sp["label"])
        for rel in rec["relations"]:
            assert 0 <= rel["head"] < len(rec["spans"]) and 0 <= rel["tail"] < len(rec["spans"]), f"{name}[{i}]"
            assert rel["head"] != rel["tail"], f"{name}[{i}]: relation from a span to itself"
            predicates.add(rel["label"])
        counts.update(k for k, v in relation_properties(rec).items() if v)
        counts["relations"] += len(rec["relations"])
    for prop in ("nested", "shared start", "both directions", "entity in several relations", "no relations"):
        assert counts[prop] > 0, f"{name}: no doc with '{prop}'"
    assert labels == set(REL_LABELS), f"{name}: labels {sorted(labels)}"
    assert predicates == set(PREDICATES), f"{name}: predicates {sorted(predicates)}"
    return {"docs": len(records), **counts}


# ---------------------------------------------------------------------------
# The events sample: the same names, with events of three types.
#
# A template marks its triggers in brackets and its argument slots in braces;
# each event names its trigger (counted from 0) and its (role, slot) arguments.
# The rules are fixed so a small CNN can learn them: "A bought B and C bought
# D in 2020" is two Acquisitions sharing their time; a person hired and moved
# is the employee of one event and the person of the other; in "the {L} office
# of {ORG}" the ORG is the employer of the Hiring while the whole office is the
# destination of the Move (a nested argument). The trigger span's label is the
# event type; an argument's label is its role.

EVENT_ROLES = {
    "Acquisition": ("buyer", "target", "time"),
    "Hiring": ("employer", "employee", "time"),
    "Move": ("person", "origin", "destination"),
}
EV_NESTED_SHARE = 0.2  # docs with a nested argument
EV_MULTI_SHARE = 0.15  # docs with two events of one type in one sentence
EV_NONE_SHARE = 0.08  # docs without events
EV_SECOND_SENTENCE = 0.25  # docs that get a plain sentence after the first

# Argument refs: a slot index, or (slot index, "org") for the ORG inside an OFFICE slot.
EventSpec = Tuple[str, int, List[Tuple[str, Any]]]
EV_TEMPLATES: Dict[str, List[Tuple[str, List[EventSpec]]]] = {
    "flat": [
        ("{ORG} [bought] {ORG} in {YEAR}.",
         [("Acquisition", 0, [("buyer", 0), ("target", 1), ("time", 2)])]),
        ("{ORG} [acquired] {ORG} for an undisclosed sum.",
         [("Acquisition", 0, [("buyer", 0), ("target", 1)])]),
        ("In {MONTH}, {ORG} [acquired] {ORG}.",
         [("Acquisition", 0, [("time", 0), ("buyer", 1), ("target", 2)])]),
        ("{ORG} was [bought] by {ORG} on {DAY}.",
         [("Acquisition", 0, [("target", 0), ("buyer", 1), ("time", 2)])]),
        ("{ORG} [hired] {PER} in {MONTH}.",
         [("Hiring", 0, [("employer", 0), ("employee", 1), ("time", 2)])]),
        ("{PER} was [hired] by {ORG} on {DAY}.",
         [("Hiring", 0, [("employee", 0), ("employer", 1), ("time", 2)])]),
        ("{ORG} has [hired] {PER} as its new director.",
         [("Hiring", 0, [("employer", 0), ("employee", 1)])]),
        ("{PER} [moved] from {LOC} to {LOC}.",
         [("Move", 0, [("person", 0), ("origin", 1), ("destination", 2)])]),
        ("{PER} [moved] to {LOC} in {YEAR}.",
         [("Move", 0, [("person", 0), ("destination", 1)])]),
        ("{PER} [relocated] from {LOC} to {LOC} last year.",
         [("Move", 0, [("person", 0), ("origin", 1), ("destination", 2)])]),
        ("After ten years in {LOC}, {PER} [moved] to {LOC}.",
         [("Move", 0, [("origin", 0), ("person", 1), ("destination", 2)])]),
        # One argument in two events of different types.
        ("{ORG} [hired] {PER}, who [moved] from {LOC} to {LOC}.",
         [("Hiring", 0, [("employer", 0), ("employee", 1)]),
          ("Move", 1, [("person", 1), ("origin", 2), ("destination", 3)])]),
        ("{PER} [moved] to {LOC} after being [hired] by {ORG} in {YEAR}.",
         [("Move", 0, [("person", 0), ("destination", 1)]),
          ("Hiring", 1, [("employee", 0), ("employer", 2), ("time", 3)])]),
        ("{ORG} [bought] {ORG} in {YEAR} and [hired] {PER} the same month.",
         [("Acquisition", 0, [("buyer", 0), ("target", 1), ("time", 2)]),
          ("Hiring", 1, [("employer", 0), ("employee", 3)])]),
    ],
    # Two events of one type in one sentence (sharing their time where there is one).
    "multi": [
        ("{ORG} [bought] {ORG} and {ORG} [acquired] {ORG} in {YEAR}.",
         [("Acquisition", 0, [("buyer", 0), ("target", 1), ("time", 4)]),
          ("Acquisition", 1, [("buyer", 2), ("target", 3), ("time", 4)])]),
        ("On {DAY}, {ORG} [bought] {ORG} and {ORG} [bought] {ORG}.",
         [("Acquisition", 0, [("time", 0), ("buyer", 1), ("target", 2)]),
          ("Acquisition", 1, [("time", 0), ("buyer", 3), ("target", 4)])]),
        ("{ORG} [hired] {PER} and {ORG} [hired] {PER} in {MONTH}.",
         [("Hiring", 0, [("employer", 0), ("employee", 1), ("time", 4)]),
          ("Hiring", 1, [("employer", 2), ("employee", 3), ("time", 4)])]),
        ("{PER} [moved] to {LOC} and {PER} [moved] to {LOC}.",
         [("Move", 0, [("person", 0), ("destination", 1)]),
          ("Move", 1, [("person", 2), ("destination", 3)])]),
    ],
    # The OFFICE slot is "{L} office of {ORG}": the destination nests the employer.
    "nested": [
        ("{PER} [moved] to the {OFFICE} after being [hired] in {YEAR}.",
         [("Move", 0, [("person", 0), ("destination", 1)]),
          ("Hiring", 1, [("employee", 0), ("employer", (1, "org")), ("time", 2)])]),
        ("After being [hired] in {MONTH}, {PER} [moved] from {LOC} to the {OFFICE}.",
         [("Hiring", 0, [("time", 0), ("employee", 1), ("employer", (3, "org"))]),
          ("Move", 1, [("person", 1), ("origin", 2), ("destination", 3)])]),
        ("{PER} was [hired] in {YEAR} and [moved] to the {OFFICE}.",
         [("Hiring", 0, [("employee", 0), ("time", 1), ("employer", (2, "org"))]),
          ("Move", 1, [("person", 0), ("destination", 2)])]),
    ],
    # Names and dates, but nothing happens.
    "none": [
        ("{PER} met {PER} at a small cafe in {LOC}.", []),
        ("Shares in {ORG} rose sharply on {DAY}.", []),
        ("{PER} visited {LOC} for the first time in {YEAR}.", []),
        ("A spokesperson for {ORG} declined to comment.", []),
    ],
}
EV_SLOT = re.compile(r"\{(\w+)\}|\[([^\]]+)\]")


class EventGenerator(Generator):
    """Fill event templates: slots get names, triggers keep their words."""

    def event_slot(self, slot: str) -> Tuple[str, Dict[str, Tuple[int, int]]]:
        """The slot's text and the char ranges of its parts ("" = the whole slot)."""
        if slot == "OFFICE":
            place, org = self.rng.choice(PLACES), self.rng.choice(FLAT_ORGS + BRANDS)
            prefix = f"{place} office of "
            text = prefix + org
            return text, {"": (0, len(text)), "org": (len(prefix), len(text))}
        if slot == "PER":
            text, _ = self.person()
        elif slot == "LOC":
            text, _ = self.place()
        elif slot == "ORG":
            text, _ = self.flat_org()
        else:
            text, _ = self.date(slot)
        return text, {"": (0, len(text))}

    def event_doc(self, kind: str) -> Tuple[str, List[Dict]]:
        """kind: "flat", "multi", "nested" or "none" (no events; sometimes no names either)."""
        if kind == "none" and self.rng.random() < 0.5:
            return self.rng.choice(PLAIN), []
        template, specs = self.rng.choice(EV_TEMPLATES[kind])
        text = ""
        slots: List[Dict[str, Tuple[int, int]]] = []
        triggers: List[Tuple[int, int]] = []
        used: set = set()
        pos = 0
        for match in EV_SLOT.finditer(template):
            text += template[pos:match.start()]
            pos = match.end()
            if match.group(2) is not None:
                triggers.append((len(text), len(text) + len(match.group(2))))
                text += match.group(2)
                continue
            piece, parts = self.event_slot(match.group(1))
            while piece in used:  # no "Kestrel bought Kestrel"
                piece, parts = self.event_slot(match.group(1))
            used.add(piece)
            slots.append({k: (s + len(text), e + len(text)) for k, (s, e) in parts.items()})
            text += piece
        text += template[pos:]
        events = []
        for label, trigger, arguments in specs:
            args = []
            for role, ref in arguments:
                slot, part = ref if isinstance(ref, tuple) else (ref, "")
                start, end = slots[slot][part]
                args.append({"role": role, "start": start, "end": end})
            start, end = triggers[trigger]
            events.append({
                "label": label,
                "trigger": {"start": start, "end": end},
                "arguments": sorted(args, key=lambda a: (a["start"], -a["end"], a["role"])),
            })
        if self.rng.random() < EV_SECOND_SENTENCE:
            text += " " + self.rng.choice(PLAIN)
        return text, sorted(events, key=lambda e: (e["trigger"]["start"], e["label"]))


def make_event_split(gen: EventGenerator, n: int, seen: set) -> List[Dict]:
    """Exact shares of nested, two-of-a-type and event-free docs, in shuffled order."""
    n_nested, n_multi, n_none = (round(n * share) for share in (EV_NESTED_SHARE, EV_MULTI_SHARE, EV_NONE_SHARE))
    kinds = ["nested"] * n_nested + ["multi"] * n_multi + ["none"] * n_none
    kinds += ["flat"] * (n - len(kinds))
    gen.rng.shuffle(kinds)
    records: List[Dict] = []
    while len(records) < n:
        text, events = gen.event_doc(kinds[len(records)])
        if text in seen:
            continue
        seen.add(text)
        records.append({"text": text, "events": events})
    return records


def event_properties(rec: Dict) -> Dict[str, bool]:
    """Which of the shapes the events sample must show this record has."""
    events = rec["events"]
    types = Counter(e["label"] for e in events)
    in_events = Counter(
        span for e in events for span in {(a["start"], a["end"]) for a in e["arguments"]}
    )
    arguments = list({(a["start"], a["end"]) for e in events for a in e["arguments"]})
    return {
        "two events of one type": any(n >= 2 for n in types.values()),
        "argument in two events": any(n >= 2 for n in in_events.values()),
        "nested arguments": has_nesting([(s, e, "") for s, e in arguments]),
        "no events": not events,
    }


def check_events(records: List[Dict], name: str, nlp) -> Dict[str, int]:
    """Assert token-aligned triggers and arguments, known roles, and every required shape."""
    counts: Counter = Counter()
    for i, rec in enumerate(records):
        doc = nlp.make_doc(rec["text"])
        assert MIN_TOKENS <= len(doc) <= MAX_TOKENS, f"{name}[{i}]: {len(doc)} tokens"
        for event in rec["events"]:
            roles = EVENT_ROLES[event["label"]]
            spans = [("trigger", event["trigger"])] + [(a["role"], a) for a in event["arguments"]]
            for role, sp in spans:
                assert role == "trigger" or role in roles, f"{name}[{i}]: role {role!r} of {event['label']}"
                span = doc.char_span(sp["start"], sp["end"], alignment_mode="strict")
                assert span is not None, f"{name}[{i}]: {rec['text'][sp['start']:sp['end']]!r} off token boundaries"
                assert span.text == span.text.strip(), f"{name}[{i}]: whitespace in {span.text!r}"
            counts[event["label"]] += 1
            counts["arguments"] += len(event["arguments"])
        counts.update(k for k, v in event_properties(rec).items() if v)
    for prop in ("two events of one type", "argument in two events", "nested arguments", "no events"):
        assert counts[prop] > 0, f"{name}: no doc with '{prop}'"
    for label in EVENT_ROLES:
        assert counts[label] > 0, f"{name}: no {label} event"
    return {"docs": len(records), **counts}


def write_jsonl(records: List[Dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf8", newline="\n") as file_:
        for rec in records:
            file_.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_sample(gen: Generator, make: Callable, check_split: Callable, sizes: Tuple[int, int],
                 paths: Tuple[Optional[Path], Optional[Path]], nlp) -> None:
    """Generate a task's train and dev splits with its own generator (no text in
    both), check each, and write the ones with a path. Both splits are generated
    either way, so a file does not depend on whether the other is written."""
    seen: set = set()
    splits = [make(gen, n, seen) for n in sizes]
    for records, path in zip(splits, paths):
        if path is None:
            continue
        counts = check_split(records, path.name, nlp)
        write_jsonl(records, path)
        msg.good(f"Wrote {path}", ", ".join(f"{k}: {v}" for k, v in counts.items()))


def main(
    # fmt: off
    train_path: Path = typer.Argument(Path("assets/sample_train.jsonl"), help="Output train JSONL"),
    dev_path: Path = typer.Argument(Path("assets/sample_dev.jsonl"), help="Output dev JSONL"),
    n_train: int = typer.Option(200, "--n-train", help="Number of train docs"),
    n_dev: int = typer.Option(60, "--n-dev", help="Number of dev docs"),
    seed: int = typer.Option(0, "--seed", help="Random seed (the shipped files use 0)"),
    rel_train_path: Optional[Path] = typer.Option(None, "--rel-train", help="Also write the relations sample's train JSONL here"),
    rel_dev_path: Optional[Path] = typer.Option(None, "--rel-dev", help="Also write the relations sample's dev JSONL here"),
    n_rel_train: int = typer.Option(200, "--n-rel-train", help="Number of relation train docs"),
    n_rel_dev: int = typer.Option(60, "--n-rel-dev", help="Number of relation dev docs"),
    ev_train_path: Optional[Path] = typer.Option(None, "--ev-train", help="Also write the events sample's train JSONL here"),
    ev_dev_path: Optional[Path] = typer.Option(None, "--ev-dev", help="Also write the events sample's dev JSONL here"),
    n_ev_train: int = typer.Option(200, "--n-ev-train", help="Number of event train docs"),
    n_ev_dev: int = typer.Option(60, "--n-ev-dev", help="Number of event dev docs"),
    # fmt: on
) -> None:
    """Generate the sample train/dev files (deterministic for a given seed), with
    --rel-train/--rel-dev the relations sample and with --ev-train/--ev-dev the
    events sample (each its own generator, so every sample is the same with or
    without the others)."""
    nlp = spacy.blank("en")
    write_sample(Generator(seed), make_split, check, (n_train, n_dev), (train_path, dev_path), nlp)
    if rel_train_path is not None or rel_dev_path is not None:
        write_sample(RelationGenerator(seed), make_relation_split, check_relations, (n_rel_train, n_rel_dev),
                     (rel_train_path, rel_dev_path), nlp)
    if ev_train_path is not None or ev_dev_path is not None:
        write_sample(EventGenerator(seed), make_event_split, check_events, (n_ev_train, n_ev_dev),
                     (ev_train_path, ev_dev_path), nlp)

if __name__ == "__main__":
    typer.run(main)
