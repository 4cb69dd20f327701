//! Blocking UMA 2.0 client over ureq 3 (under construction).
