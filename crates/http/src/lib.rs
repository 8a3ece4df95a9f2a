//! covenant-http
