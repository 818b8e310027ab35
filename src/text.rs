//! Untrusted text is data. Process names, command lines, paths, hostnames and registry fields can
//! hold escape sequences, control characters, bidi overrides and zero-width characters; any local
//! user controls a process name. Everything that reaches a terminal, a table, CSV or an error
//! message goes through [`escape`], which makes such characters *visible* (`\x1b`, `\u{202e}`)
//! instead of dropping them, so `ssh\u{200b}d` can never pass for `sshd`.
//!
//! Text the OS gives as bytes ([`from_os_bytes`]) keeps every byte: an invalid UTF-8 byte is
//! stored as one private-use code point (see [`raw_byte`]), shown by [`escape`] as `\xNN` and
//! given back by [`to_os_bytes`], while a literal backslash is shown as `\\`. So the raw byte
//! 0xff reads `\xff` and the four characters `\xff` read `\\xff`: never the same.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use unicode_width::UnicodeWidthChar;

/// An invalid UTF-8 byte `0xNN` (always 0x80 or above: ASCII bytes are valid) is stored as the
/// code point U+10FFNN, in the last private-use plane, which no script or font assigns. A real
/// U+10FF80..=U+10FFFF in valid input is stored as its four bytes, each so marked, so the
/// mapping stays exact both ways (the same idea as Python's "surrogateescape", which Rust
/// strings cannot hold).
const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// The code point that stands for the invalid byte `b` (`b >= 0x80`).
fn raw_byte_char(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The raw byte `c` stands for, when it is one [`from_os_bytes`] kept from invalid UTF-8.
pub fn raw_byte(c: char) -> Option<u8> {
    let n = u32::from(c);
    (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff)
        .contains(&n)
        .then(|| (n - RAW_BYTE_BASE) as u8)
}

/// True for characters that must not reach an output verbatim.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() // C0, DEL and C1 (U+0080..=U+009F, which includes the 8-bit CSI U+009B)
        || c == '\\'
        || raw_byte(c).is_some()
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

/// Whether `c` changes what a terminal shows without showing itself: ESC and the other C0/C1
/// controls except tab and newline, DEL, bidi controls, zero-width and other invisible
/// characters, and bytes that were not UTF-8. A backslash, a tab or a newline is escaped on a
/// one-line output but is no disguise: a multi-line `python -c` script is not hiding anything.
pub fn is_hidden(c: char) -> bool {
    !matches!(c, '\\' | '\t' | '\n') && is_dangerous(c)
}

/// Whether `s` holds a character [`is_hidden`] flags: what a process name or path has no honest
/// reason to hold, so itself worth a hint.
pub fn has_hidden_chars(s: &str) -> bool {
    !plain_ascii(s) && s.chars().any(is_hidden)
}

/// Escape `s` so that every dangerous character is shown as a visible escape. A backslash is
/// doubled so that a literal `\x1b` typed into a name cannot pass for an escaped one, and a byte
/// [`from_os_bytes`] kept from invalid UTF-8 shows as `\xNN`: the output never reads the same
/// for two different inputs.
///
/// Call it once, at output. Text in the model (hint titles and reasons included) is raw; a
/// shell line from `hints::next_steps` is the one exception: it is printable already and must
/// be printed as it is.
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
            c if raw_byte(c).is_some() => {
                let _ = write!(out, "\\x{:02x}", raw_byte(c).unwrap_or_default());
            }
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

/// Decode bytes from the OS (a `/proc` cmdline, a non-UTF-8 file name) without losing any:
/// valid UTF-8 is kept as is (and escaped later, on output), each invalid byte is kept as the
/// code point [`raw_byte`] recognises. [`to_os_bytes`] gives the exact bytes back.
pub fn from_os_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        for c in valid.chars() {
            if raw_byte(c).is_some() {
                // A genuine U+10FF80..: kept as its bytes, so it cannot pass for one raw byte.
                let mut buf = [0u8; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    out.push(raw_byte_char(b));
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            out.push(raw_byte_char(b));
        }
    }
    out
}

/// The bytes `s` came from, when it came from [`from_os_bytes`] (for any other text, its UTF-8):
/// what a path must be given back as, to name the same file.
pub fn to_os_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.chars().any(|c| raw_byte(c).is_some()) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match raw_byte(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    Cow::Owned(out)
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
///
/// It also lays the JSON out as serde_json's pretty printer does (two spaces a level), but
/// writes each line break and its indentation in one call: a `list --json` of 10,000 sockets
/// starts over a million lines, and one write per level of each was a fifth of its time.
///
/// Compact (serde_json's compact layout, one line) when asked: what a pipe or a log shipper
/// reads.
#[derive(Default)]
pub struct SafeJsonFormatter {
    depth: usize,
    has_value: bool,
    compact: bool,
}

/// A comma, a line break, and the most indentation written in one piece.
const BREAK: &[u8] = b",\n                                                                ";

impl SafeJsonFormatter {
    /// The compact layout: no line breaks, no spaces.
    pub fn compact() -> SafeJsonFormatter {
        SafeJsonFormatter {
            compact: true,
            ..SafeJsonFormatter::default()
        }
    }

    /// `,\n` (or `\n` for the first item) and the current indentation; `,` alone (or nothing)
    /// when compact.
    fn new_line<W: ?Sized + io::Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if self.compact {
            return if first { Ok(()) } else { w.write_all(b",") };
        }
        let start = usize::from(first);
        let mut spaces = 2 * self.depth;
        let most = BREAK.len() - 2;
        w.write_all(&BREAK[start..2 + spaces.min(most)])?;
        while spaces > most {
            spaces -= most;
            w.write_all(&BREAK[2..2 + spaces.min(most)])?;
        }
        Ok(())
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value && !self.compact {
            self.new_line(w, true)?;
        }
        w.write_all(bracket)
    }
}

/// Whether every byte is printable ASCII. Folded without an early exit, so that the compiler
/// checks many bytes at a time: most JSON text passes.
fn printable_ascii(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5f))
}

impl SafeJsonFormatter {
    /// The layout for standard output: indented on a terminal, compact otherwise (see
    /// [`write_json`]).
    pub fn for_stdout() -> SafeJsonFormatter {
        use std::io::IsTerminal;
        if io::stdout().is_terminal() {
            SafeJsonFormatter::default()
        } else {
            SafeJsonFormatter::compact()
        }
    }
}

impl serde_json::ser::Formatter for SafeJsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Most JSON text is printable ASCII, which needs no look at each character.
        if printable_ascii(fragment.as_bytes()) {
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

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.compact { b":" } else { b": " })
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Write `value` as JSON through [`SafeJsonFormatter`], with a trailing newline: indented for a
/// person when standard output is a terminal, compact (one line) when it goes to a pipe or a
/// file, where a program reads it (`| jq .` indents it again). On a server with 10,000 sockets
/// the indentation was a third of `list --json`'s bytes.
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> io::Result<()> {
    write_json_as(writer, value, SafeJsonFormatter::for_stdout())
}

/// [`write_json`] in the given layout.
pub fn write_json_as<W: io::Write, T: serde::Serialize + ?Sized>(
    mut writer: W,
    value: &T,
    layout: SafeJsonFormatter,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut writer, layout);
    value.serialize(&mut ser).map_err(io::Error::from)?; // keeps an io error's kind (BrokenPipe)
    writer.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_laid_out_as_serde_json_lays_it_out() {
        // Empty and nested containers, and nesting deeper than one piece of indentation holds.
        let mut deep = serde_json::json!({"leaf": [1, {}, []]});
        for i in 0..40 {
            deep = serde_json::json!({ format!("k{i}"): [deep, "x", {"a": null}] });
        }
        for value in [
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!({"a": [], "b": {}, "c": [1, 2], "d": {"e": "f"}}),
            deep,
        ] {
            let mut ours = Vec::new();
            write_json_as(&mut ours, &value, SafeJsonFormatter::default()).unwrap();
            let theirs = serde_json::to_string_pretty(&value).unwrap() + "\n";
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
            let mut ours = Vec::new();
            write_json_as(&mut ours, &value, SafeJsonFormatter::compact()).unwrap();
            let theirs = serde_json::to_string(&value).unwrap() + "\n";
            assert_eq!(String::from_utf8(ours).unwrap(), theirs);
        }
    }

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
    fn hidden_characters_are_what_changes_what_a_terminal_shows() {
        for s in [
            "ssh\u{200b}d",
            "\x1b[2J",
            "a\rb",
            "\u{9b}31m",
            "\u{202e}dhss",
            "\u{2066}x\u{2069}",
            "x\x7f",
        ] {
            assert!(has_hidden_chars(s), "{s:?}");
        }
        assert!(has_hidden_chars(&from_os_bytes(b"a\xffb")));
        // A multi-line script, a tab, a backslash: escaped on a one-line output, hiding nothing.
        let script = "import socket\ns = socket.socket()\n\ts.listen()";
        assert!(!has_hidden_chars(script));
        assert_eq!(
            escape(script),
            "import socket\\ns = socket.socket()\\n\\ts.listen()"
        );
        for s in ["C:\\temp", "nginx: worker", "日本", "\\xff"] {
            assert!(!has_hidden_chars(s), "{s:?}");
        }
        assert!(needs_escape("C:\\temp") && !needs_escape("plain"));
    }

    #[test]
    fn a_raw_byte_and_its_spelling_render_differently() {
        let raw = from_os_bytes(b"ab\xffc");
        let typed = from_os_bytes(b"ab\\xffc"); // the four characters \xff
        assert_ne!(raw, typed);
        assert_eq!(escape(&raw), "ab\\xffc");
        assert_eq!(escape(&typed), "ab\\\\xffc");
        // Escapes of controls and raw bytes keep apart too: ESC is a character, 0x9b a C1
        // character when valid UTF-8 and a byte when not.
        assert_eq!(escape(&from_os_bytes("\u{9b}".as_bytes())), "\\u{9b}");
        assert_eq!(escape(&from_os_bytes(b"\x9b")), "\\x9b");
    }

    #[test]
    fn os_bytes_round_trip_exactly() {
        let cases: &[&[u8]] = &[
            b"plain",
            b"ab\xffc",
            b"\xc3",                 // a cut-off two-byte sequence
            b"\xf4\x8f\xbf\xbf",     // a genuine U+10FFFF: must not pass for one raw byte
            b"\xf4\x8f\xbe\x80\x80", // U+10FF80 then a lone continuation byte
            "日本\u{202e}".as_bytes(),
            b"a\\x80",
        ];
        for &bytes in cases {
            let text = from_os_bytes(bytes);
            assert_eq!(&*to_os_bytes(&text), bytes, "{text:?}");
        }
        // Distinct bytes give distinct text and distinct escapes.
        let genuine = from_os_bytes("\u{10ff80}".as_bytes());
        let lone = from_os_bytes(b"\x80");
        assert_ne!(escape(&genuine), escape(&lone));
        assert_eq!(escape(&genuine), "\\xf4\\x8f\\xbe\\x80");
        // Text that never came from bytes is its own UTF-8.
        assert!(matches!(to_os_bytes("/usr/sbin/sshd"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_round_trip_and_escape_to_printable_text(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)
        ) {
            let text = from_os_bytes(&bytes);
            proptest::prop_assert_eq!(&*to_os_bytes(&text), &bytes[..]);
            proptest::prop_assert!(!escape(&text).chars().any(|c| c != '\\' && is_dangerous(c)));
        }
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
