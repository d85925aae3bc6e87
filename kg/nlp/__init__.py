"""spaCy-based extraction: the one place that builds a Language and runs rules over text."""
