"""techkg: technology-trend documents into a trustworthy knowledge graph."""

__version__ = "0.1.0"
