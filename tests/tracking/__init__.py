"""Tests of components.tracking (a package, so test module names cannot clash)."""
