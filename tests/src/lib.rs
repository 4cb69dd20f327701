//! Embedded UMA authorization server and resource server (under construction).
