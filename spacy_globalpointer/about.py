__title__ = "spacy-globalpointer"
__version__ = "0.1.0"
