"""GlobalPointer span and relation extraction for spaCy.

Importing this package is never required: spaCy finds the `globalpointer` and
`globalpointer_relations` factories and the architectures through entry points.
Import it for the `Relation` and `Event` records of `doc._.relations` / `doc._.events`.
"""
from .about import __version__
from .extensions import Event, Relation, install_extensions
from .pipeline.relations import GlobalPointerRelations, make_globalpointer_relations
from .pipeline.spans import GlobalPointer, make_globalpointer

install_extensions()

__all__ = [
    "Event",
    "GlobalPointer",
    "GlobalPointerRelations",
    "Relation",
    "install_extensions",
    "make_globalpointer",
    "make_globalpointer_relations",
    "__version__",
]
