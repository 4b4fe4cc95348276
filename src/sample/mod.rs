//! sample (being built).
