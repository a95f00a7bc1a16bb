"""Tests of components.inference (a package, so test module names cannot clash)."""
