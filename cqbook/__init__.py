"""Shared logic of the Chongqing report book: data, units, charts, parameters and the build."""

import sys

# jsonschema imports rfc3987_syntax when it is installed, which builds a Lark grammar at
# import time (2 s, in every process that imports nbformat, jupyter-book's config or
# frictionless: each build, each Sphinx run, each kernel) only to check the "iri" string
# formats, which nothing here validates. Without it jsonschema leaves those formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
