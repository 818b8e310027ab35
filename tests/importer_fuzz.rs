//! Arbitrary bytes to the importer never panic: they parse or they are refused with a reason.

use portscope::registry::{Registry, Source, HEADER};
use proptest::prelude::*;

fn header() -> String {
    HEADER.join(",") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match Registry::from_csv(&bytes, Source::Embedded) {
            Ok(reg) => { let _ = reg.entries().count(); }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn arbitrary_rows_after_a_valid_header_never_panic(body in "[a-z0-9,\"\\-\\n\\r /]{0,600}") {
        let text = header() + &body;
        if let Ok(reg) = Registry::from_csv(text.as_bytes(), Source::Embedded) {
            for e in reg.entries() {
                if let Some(p) = e.ports { prop_assert!(p.start <= p.end); }
                let _ = reg.report(e.ports.map_or(0, |p| p.start), e.protocol);
            }
        }
    }
}
