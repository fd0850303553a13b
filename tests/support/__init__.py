"""Test-only infrastructure the tests and the benchmarks share (never shipped in a distribution:
``pyproject.toml`` packages only the project's own top-level packages)."""
