//! The vocabulary: the one word for each value of a concept that more than one front end shows.
//! The table, CSV, JSON and the explorer all take their words from here, and the JSON words are
//! the serde names, so a script reading `--json` and a person reading the table see the same
//! word. Adding an owner state or a severity means adding its word here (the compiler points
//! here from every `match`).

use crate::hints::Severity;
use crate::sockets::{Family, HostInfo, UnknownOwner};

/// `info`, `notice`, `warning`, `alert`: one spelling everywhere.
pub fn severity(s: Severity) -> &'static str {
    s.as_str()
}

/// The glyph of a severity in a narrow column (also readable without colour).
pub fn severity_glyph(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Alert) => "!!",
        Some(Severity::Warning) => "! ",
        Some(Severity::Notice) => "* ",
        Some(Severity::Info) => "i ",
        None => "  ",
    }
}

/// A hint quieted by the expected-listeners file, in a listing's FLAG: `quieted warning`.
pub fn quieted(s: Severity) -> &'static str {
    match s {
        Severity::Info => "quieted info",
        Severity::Notice => "quieted notice",
        Severity::Warning => "quieted warning",
        Severity::Alert => "quieted alert",
    }
}

/// Expected or not, for CSV: `yes`, `no`, empty when no file is in use.
pub fn expected_word(expected: Option<bool>) -> &'static str {
    match expected {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

/// Expected or not, in a narrow column: ✓ and ✗ where the locale says the terminal takes UTF-8,
/// else `yes` and `no` (which also read without colour); `-` for a row the file does not judge.
pub fn expected_glyph(expected: Option<bool>) -> &'static str {
    match (expected, unicode_marks()) {
        (Some(true), true) => "✓",
        (Some(false), true) => "✗",
        (Some(true), false) => "yes",
        (Some(false), false) => "no",
        (None, _) => "-",
    }
}

/// Whether marks may be drawn as non-ASCII glyphs: the first of `LC_ALL`, `LC_CTYPE` and `LANG`
/// that is set names UTF-8, as `locale(1)` decides the character set. Read once per process.
pub fn unicode_marks() -> bool {
    static UNICODE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNICODE.get_or_init(|| {
        ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("utf-8") || v.contains("utf8")
            })
    })
}

/// Why a socket has no owner, in one word (the serde name of [`UnknownOwner`]).
pub fn owner_state(u: UnknownOwner) -> &'static str {
    match u {
        UnknownOwner::Hidden => "hidden",
        UnknownOwner::Kernel => "kernel",
        UnknownOwner::Vanished => "vanished",
        UnknownOwner::OtherPidNamespace => "other-pid-namespace",
        UnknownOwner::Unknown => "unknown",
    }
}

/// Why a socket has no owner, as a sentence that says what to do. Whether this run was root
/// decides the advice: telling root to "run as root" helps nobody. The sentences live with the
/// enum (`sockets`), where the hints, a lower layer than this one, read them too.
pub fn owner_state_sentence(u: UnknownOwner, host: &HostInfo) -> String {
    u.explain_for(host).to_owned()
}

/// `v4`, `v6`, `dual`: the serde names of [`Family`].
pub fn family(f: Family) -> &'static str {
    match f {
        Family::V4 => "v4",
        Family::V6 => "v6",
        Family::Dual => "dual",
    }
}

/// A family as a person reads it in a detail.
pub fn family_sentence(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6 only",
        Family::Dual => "IPv6 and IPv4 (dual-stack)",
    }
}

/// `3 s`, `12 min`, `5 h`, `3 days`.
pub fn duration(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's words are the JSON's words.
    #[test]
    fn words_are_the_serde_names() {
        for u in [
            UnknownOwner::Hidden,
            UnknownOwner::Kernel,
            UnknownOwner::Vanished,
            UnknownOwner::OtherPidNamespace,
            UnknownOwner::Unknown,
        ] {
            assert_eq!(
                serde_json::to_value(u).unwrap(),
                serde_json::json!(owner_state(u))
            );
        }
        for f in [Family::V4, Family::V6, Family::Dual] {
            assert_eq!(
                serde_json::to_value(f).unwrap(),
                serde_json::json!(family(f))
            );
        }
        for s in [
            Severity::Info,
            Severity::Notice,
            Severity::Warning,
            Severity::Alert,
        ] {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(severity(s))
            );
        }
    }

    #[test]
    fn root_is_not_told_to_become_root() {
        let root = HostInfo {
            uid: 0,
            ..HostInfo::default()
        };
        let user = HostInfo {
            uid: 1000,
            ..HostInfo::default()
        };
        assert!(!owner_state_sentence(UnknownOwner::Hidden, &root).contains("run as root"));
        assert!(owner_state_sentence(UnknownOwner::Hidden, &user).contains("run as root"));
    }
}
