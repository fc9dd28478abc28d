//! The conformance battery (placeholder while it is written).
