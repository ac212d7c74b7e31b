//! Tests of the whole analysis: structure, sections, encoding, limits, and the corpus in
//! `tests/mime/corpus`.

mod analysis;
mod corpus;
