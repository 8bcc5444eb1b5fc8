//! Typed model of the Scaleway Instance API v1.
