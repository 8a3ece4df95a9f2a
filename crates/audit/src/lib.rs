//! covenant-audit
