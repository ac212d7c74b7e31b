//! Postern storage: see docs/ARCHITECTURE.md.
