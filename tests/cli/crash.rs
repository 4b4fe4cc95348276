//! Crash safety (issue 8).
