"""The language server: a thin pygls adapter over the core."""
