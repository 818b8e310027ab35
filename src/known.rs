//! Well-established unofficial uses of ports (assets/known-ports.csv). (Filled in by the hints work.)
