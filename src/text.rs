//! Untrusted text is data. Process names, command lines, paths, hostnames and registry fields can
//! hold escape sequences, control characters, bidi overrides and zero-width characters; any local
//! user controls a process name. Everything that reaches a terminal, a table, CSV or an error
//! message goes through [`escape`], which makes such characters *visible* (`\x1b`, `\u{202e}`)
//! instead of dropping them, so `ssh\u{200b}d` can never pass for `sshd`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use unicode_width::UnicodeWidthChar;

/// True for characters that must not reach an output verbatim.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080..=U+009F, which includes the 8-bit CSI U+009B)
        || c == '\\'
        || matches!(c,
            '\u{00AD}'                  // soft hyphen: invisible
            | '\u{034F}'                // combining grapheme joiner
            | '\u{061C}'                // Arabic letter mark (bidi)
            | '\u{115F}' | '\u{1160}'   // Hangul fillers: blank
            | '\u{180E}'                // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}'   // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
            | '\u{3164}'                // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'   // variation selectors
            | '\u{FEFF}'                // zero-width no-break space / BOM
            | '\u{FFA0}'                // halfwidth Hangul filler
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotations
            | '\u{E0000}'..='\u{E007F}' // tags
        )
}

/// Printable ASCII other than the backslash: the common case, told by a byte scan.
fn plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// Whether `s` would change under [`escape`].
pub fn needs_escape(s: &str) -> bool {
    !plain_ascii(s) && s.chars().any(is_dangerous)
}

/// Whether `s` holds control, bidi or invisible characters: what a process name has no honest
/// reason to hold, so itself worth a hint. (A backslash is escaped on output but is no disguise.)
pub fn has_hidden_chars(s: &str) -> bool {
    !plain_ascii(s) && s.chars().any(|c| c != '\\' && is_dangerous(c))
}

/// Escape `s` so that every dangerous character is shown as a visible escape. A backslash is
/// doubled so that a literal `\x1b` typed into a name cannot pass for an escaped one.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !needs_escape(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_dangerous(c) {
            out.push(c);
            continue;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Decode bytes from the OS (a `/proc` cmdline, a non-UTF-8 file name): valid UTF-8 is kept as is
/// (and escaped later, on output), each invalid byte becomes a visible `\xNN`.
pub fn from_os_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Display width of `s` in terminal cells (after escaping, callers pass escaped text).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cut `s` to at most `max` cells, marking a cut with `…`.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Pad or cut `s` to exactly `cells` cells.
pub fn fit(s: &str, cells: usize) -> String {
    let cut = truncate(s, cells);
    let pad = cells.saturating_sub(width(&cut));
    let mut out = cut.into_owned();
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// `2026-11-21 23:45:07 UTC` from seconds since the Unix epoch (proleptic Gregorian calendar,
/// no time-zone database needed: snapshots travel between machines, UTC reads the same on both).
pub fn utc(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A serde_json formatter that writes every character [`is_dangerous`] flags as a `\uXXXX`
/// escape. The JSON still decodes to the exact original text, but the byte stream a terminal or
/// log viewer sees holds no raw ESC, bidi override or zero-width character.
#[derive(Default)]
pub struct SafeJsonFormatter {
    pretty: serde_json::ser::PrettyFormatter<'static>,
}

impl serde_json::ser::Formatter for SafeJsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Most JSON text is printable ASCII, which needs no look at each character.
        if fragment.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c != '\\' && is_dangerous(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{:04x}", unit)?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // Pretty layout, delegated.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Write `value` as pretty JSON through [`SafeJsonFormatter`], with a trailing newline.
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    mut writer: W,
    value: &T,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut writer, SafeJsonFormatter::default());
    value.serialize(&mut ser).map_err(io::Error::from)?; // keeps an io error's kind (BrokenPipe)
    writer.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("sshd\x7f"), "sshd\\x7f");
    }

    #[test]
    fn makes_invisible_lookalikes_visible() {
        assert_eq!(escape("ssh\u{200b}d"), "ssh\\u{200b}d");
        assert_eq!(escape("\u{202e}dhss"), "\\u{202e}dhss");
        assert_eq!(escape("a\\x1b"), "a\\\\x1b");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        assert!(matches!(escape("nginx: worker"), Cow::Borrowed(_)));
        assert_eq!(escape("日本語 ))("), "日本語 ))(");
    }

    #[test]
    fn hidden_characters_are_told_apart_from_backslashes() {
        assert!(
            has_hidden_chars("ssh\u{200b}d")
                && has_hidden_chars("a\nb")
                && has_hidden_chars("\x1b[2J")
        );
        assert!(
            !has_hidden_chars("C:\\temp")
                && !has_hidden_chars("nginx: worker")
                && !has_hidden_chars("日本")
        );
        assert!(needs_escape("C:\\temp") && !needs_escape("plain"));
    }

    #[test]
    fn invalid_utf8_bytes_become_visible() {
        assert_eq!(from_os_bytes(b"ab\xffc"), "ab\\xffc");
    }

    #[test]
    fn json_round_trips_but_hides_raw_controls() {
        let name = "\x1b[2J\u{202e}x\\y";
        let mut buf = Vec::new();
        write_json(&mut buf, &name).unwrap();
        let raw = String::from_utf8(buf.clone()).unwrap();
        assert!(!raw.contains('\x1b') && !raw.contains('\u{202e}'), "{raw}");
        let back: String = serde_json::from_slice(&buf).unwrap();
        assert_eq!(back, name);
    }

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(1_800_000_000), "2027-01-15 08:00:00 UTC");
    }

    #[test]
    fn truncate_and_fit_count_cells() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("日本語", 4), "日… ");
    }
}
