//! Reliability (issue 8).
