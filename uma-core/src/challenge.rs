//! (module under construction: challenge)
