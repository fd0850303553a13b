"""Throughput and footprint benchmarks (``make bench``): ``python -m bench.run [--quick]``.

Every figure is a ratio to a reference measured in the same run on the same machine (bare
Ed25519 verifications per second on the same messages, or another configuration), because the
absolute numbers of a shared, noisy machine mean little. Results go to ``bench/results.json`` and
to the table between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md.
"""
