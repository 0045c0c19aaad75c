"""What a chapter imports: charts, headlines, links to the sources page, bounds,
rates, terms.

Imports `dataset`, never `build` (tests/build/test_architecture.py)."""
