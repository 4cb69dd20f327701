//! (module under construction: protection)
