//! covenant-query
