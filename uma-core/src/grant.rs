//! (module under construction: grant)
