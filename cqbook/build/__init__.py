"""Notebooks -> executed -> HTML: parameters, cache keys, execution, pages, publishing,
results and their diff, runs and sweeps. Imported by no notebook."""
