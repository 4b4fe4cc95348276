//! recommend (being built).
