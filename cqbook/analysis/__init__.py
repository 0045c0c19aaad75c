"""What a chapter imports: charts, headlines, links to the sources page, bounds,
rates, terms.

Imports `dataset`, never `build` (tests/test_architecture.py)."""
