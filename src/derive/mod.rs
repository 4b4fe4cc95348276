//! derive (being built).
