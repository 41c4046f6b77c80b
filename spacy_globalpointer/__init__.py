"""GlobalPointer span, relation and event extraction for spaCy.

Importing this package is never required: spaCy finds the `globalpointer`
factory and the architectures through entry points.
"""
from .about import __version__
from .pipeline.spans import GlobalPointer, make_globalpointer

__all__ = ["GlobalPointer", "make_globalpointer", "__version__"]
