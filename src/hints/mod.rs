//! Investigation hints: what is unusual about a port or a live socket, and what to run next.
//! (Filled in by the hints work.)
