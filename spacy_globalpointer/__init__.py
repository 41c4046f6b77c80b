"""GlobalPointer span, relation and event extraction for spaCy.

Importing this package is never required: spaCy finds the `globalpointer`,
`globalpointer_relations` and `globalpointer_events` factories and the
architectures through entry points.
Import it for the `Relation` and `Event` records of `doc._.relations` / `doc._.events`.
"""
from . import tokenizers, training  # register the language tokenizer and the Paragraphs reader
from .about import __version__
from .extensions import Event, Relation, install_extensions
from .pipeline.events import GlobalPointerEvents, make_globalpointer_events
from .pipeline.relations import GlobalPointerRelations, make_globalpointer_relations
from .pipeline.spans import GlobalPointer, make_globalpointer

install_extensions()

__all__ = [
    "Event",
    "GlobalPointer",
    "GlobalPointerEvents",
    "GlobalPointerRelations",
    "Relation",
    "install_extensions",
    "make_globalpointer",
    "make_globalpointer_events",
    "make_globalpointer_relations",
    "__version__",
]
