//! Secret redaction (DESIGN.md Contracts).
