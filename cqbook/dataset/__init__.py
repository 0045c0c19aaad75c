"""The page -> typed, checked tables: the data package, units, numbers as printed.

Imports neither `analysis` nor `build` (tests/build/test_architecture.py)."""
