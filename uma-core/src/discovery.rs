//! (module under construction: discovery)
