"""Shared logic of the Chongqing report book: data, units, charts, parameters and the build."""
