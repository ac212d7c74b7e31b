//! Load generator for mail servers; see the README.
