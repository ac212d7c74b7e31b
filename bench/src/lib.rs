//! Benchmarks for Postern; see the README.
