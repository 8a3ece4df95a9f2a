//! covenant-emit
