//! Tests of the whole analysis: structure, sections, encoding, limits, hostile blobs, random
//! messages, and the corpus in `tests/mime/corpus`.

mod analysis;
mod corpus;
mod hostile;
mod limits;
mod random;
