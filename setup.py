"""Packaging for spacy-globalpointer.

Every factory, architecture, scorer and misc function is registered through entry
points, so `spacy.load` and `nlp.add_pipe("globalpointer")` work in a fresh process
without importing this package by hand.
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
about: dict = {}
exec((HERE / "spacy_globalpointer" / "about.py").read_text(encoding="utf8"), about)

setup(
    name="spacy-globalpointer",
    version=about["__version__"],
    description="GlobalPointer span, relation and event extraction (GPLinker) as trainable spaCy components",
    long_description=(HERE / "README.md").read_text(encoding="utf8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=find_packages(include=["spacy_globalpointer", "spacy_globalpointer.*"]),
    package_data={"spacy_globalpointer": ["py.typed"]},
    install_requires=[
        "spacy>=3.8,<3.9",
        "thinc>=8.3,<8.4",
        "torch>=2.0",
        "numpy>=1.19",
        "srsly>=2.4",
        "typer>=0.9",
        "wasabi>=0.9",
        "networkx>=2.6",
    ],
    extras_require={
        "transformers": ["spacy-transformers>=1.4,<1.5"],
        # What the spaCy project needs beyond the component: `spacy package
        # --build wheel` runs `build`; the benchmark draws its plot with matplotlib.
        "project": ["build>=1.0", "matplotlib>=3.5"],
        # `annotate --engine ray` and Parquet input/output.
        "distributed": ["ray[data]>=2.40", "pyarrow>=14"],
        # The annotate tests run both engines and read Parquet back.
        "test": [
            "pytest>=7", "spacy-transformers>=1.4,<1.5", "matplotlib>=3.5", "build>=1.0",
            "ray[data]>=2.40", "pyarrow>=14",
        ],
    },
    entry_points={
        "console_scripts": ["spacy-globalpointer = spacy_globalpointer.__main__:app"],
        "spacy_factories": [
            "globalpointer = spacy_globalpointer.pipeline.spans:make_globalpointer",
            "globalpointer_relations = spacy_globalpointer.pipeline.relations:make_globalpointer_relations",
            "globalpointer_events = spacy_globalpointer.pipeline.events:make_globalpointer_events",
        ],
        "spacy_architectures": [
            "spacy-globalpointer.GlobalPointer.v1 = spacy_globalpointer.ml.models:build_globalpointer",
            "spacy-globalpointer.EfficientGlobalPointer.v1 = spacy_globalpointer.ml.models:build_efficient_globalpointer",
            "spacy-globalpointer.GPLinker.v1 = spacy_globalpointer.ml.models:build_gplinker",
            "spacy-globalpointer.GPLinker.v2 = spacy_globalpointer.ml.models:build_gplinker_v2",
            "spacy-globalpointer.GPLinkerEvents.v1 = spacy_globalpointer.ml.models:build_gplinker_events",
            "spacy-globalpointer.GPLinkerEvents.v2 = spacy_globalpointer.ml.models:build_gplinker_events_v2",
        ],
        "spacy_scorers": [
            "spacy-globalpointer.spans_scorer.v1 = spacy_globalpointer.pipeline.spans:make_globalpointer_scorer",
            "spacy-globalpointer.relations_scorer.v1 = spacy_globalpointer.pipeline.relations:make_relations_scorer",
            "spacy-globalpointer.events_scorer.v1 = spacy_globalpointer.pipeline.events:make_events_scorer",
        ],
        "spacy_readers": [
            "spacy-globalpointer.Paragraphs.v1 = spacy_globalpointer.training:create_paragraphs_reader",
        ],
        "spacy_misc": [
            "spacy-globalpointer.calibration.v1 = spacy_globalpointer.calibration:make_calibration",
        ],
        "spacy_tokenizers": [
            "spacy-globalpointer.LanguageTokenizer.v1 = spacy_globalpointer.tokenizers:create_language_tokenizer",
        ],
    },
    classifiers=[
        "Framework :: spaCy",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
