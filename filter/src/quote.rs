//! Showing untrusted text in a message without letting it take the message over.
//!
//! A value from a manifest or a plugin configuration can be megabytes long, or hold control
//! characters (ESC sequences, NUL, line breaks) and bidirectional overrides (U+202E) that
//! forge or hide text in a terminal or a CI log. [`quote`] and [`code`] show such a value
//! delimited, escaped and cut to [`SHOWN`] characters with its full length stated;
//! [`clean`] does the same for a whole message that is already text (a library's error).
//! The compiler uses these too, so the filter's log line and the compiler's diagnostics
//! escape alike.

use std::fmt::{self, Write as _};

/// How many characters of escaped value a message shows before it cuts the rest.
pub const SHOWN: usize = 100;

/// Whether `c` is invisible or changes how the text around it is displayed: control
/// characters, bidirectional controls (U+061C, U+200E/U+200F, U+202A–U+202E,
/// U+2066–U+2069), zero-width and other format characters, line and paragraph separators,
/// blank fillers and spaces other than U+0020.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x00A0
                | 0x00AD
                | 0x034F
                | 0x0600..=0x0605
                | 0x061C
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x115F..=0x1160
                | 0x1680
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x2000..=0x200F
                | 0x2028..=0x202F
                | 0x205F..=0x206F
                | 0x3000
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
}

/// One character as shown: itself, a backslash escape, or `\u{hex}`.
#[derive(Clone, Copy)]
enum Shown {
    Plain(char),
    Backslash(char),
    Unicode(u32),
}

impl Shown {
    /// `delim` is the delimiter of a quoted value (escaped with the backslash), `None` for
    /// free text, where backslashes and quotes stay as they are.
    fn of(c: char, delim: Option<char>) -> Shown {
        match c {
            '\n' => Shown::Backslash('n'),
            '\r' => Shown::Backslash('r'),
            '\t' => Shown::Backslash('t'),
            '\\' if delim.is_some() => Shown::Backslash('\\'),
            c if Some(c) == delim => Shown::Backslash(c),
            c if is_hidden(c) => Shown::Unicode(u32::from(c)),
            c => Shown::Plain(c),
        }
    }

    /// Characters written.
    fn width(self) -> usize {
        match self {
            Shown::Plain(_) => 1,
            Shown::Backslash(_) => 2,
            // `\u{` + hex digits + `}`
            Shown::Unicode(n) => 4 + (32 - n.max(1).leading_zeros()).div_ceil(4) as usize,
        }
    }

    fn write(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Plain(c) => f.write_char(c),
            Shown::Backslash(c) => write!(f, "\\{c}"),
            Shown::Unicode(n) => write!(f, "\\u{{{n:x}}}"),
        }
    }
}

/// A value to show in a message; see [`quote`] and [`code`].
#[derive(Clone, Copy)]
pub struct Quoted<'a> {
    value: &'a str,
    delim: char,
}

/// `value` in double quotes, as `"value"`: backslashes, double quotes, control and invisible
/// characters escaped (`\n`, `\u{202e}`), and past [`SHOWN`] characters cut, as
/// `"aaaa"… (1048576 bytes)`.
pub fn quote(value: &str) -> Quoted<'_> {
    Quoted { value, delim: '"' }
}

/// [`quote`] in backticks, for messages that show values as code (`` unknown field `x` ``).
pub fn code(value: &str) -> Quoted<'_> {
    Quoted { value, delim: '`' }
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char(self.delim)?;
        let mut used = 0;
        for c in self.value.chars() {
            let shown = Shown::of(c, Some(self.delim));
            used += shown.width();
            if used > SHOWN {
                f.write_char(self.delim)?;
                return write!(f, "… ({} bytes)", self.value.len());
            }
            shown.write(f)?;
        }
        f.write_char(self.delim)
    }
}

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Free text (a library's error message, which may embed the offending value) made safe to
/// show; see [`clean`].
#[derive(Clone, Copy)]
pub struct Cleaned<'a> {
    text: &'a str,
    max: usize,
}

/// `text` with control and invisible characters escaped as in [`quote`] (quotes and
/// backslashes stay), and, when the result would be longer than `max` characters, its
/// middle left out as `…[N bytes left out]…` so both the start and the end of the message
/// (often the "expected ..." part) stay readable.
pub fn clean(text: &str, max: usize) -> Cleaned<'_> {
    Cleaned { text, max }
}

impl fmt::Display for Cleaned<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |c| Shown::of(c, None);
        let total: usize = self.text.chars().map(|c| shown(c).width()).sum();
        if total <= self.max {
            return self.text.chars().try_for_each(|c| shown(c).write(f));
        }
        // Keep about two thirds of the budget from the start and one third from the end.
        let (mut head_end, mut used) = (0, 0);
        for (i, c) in self.text.char_indices() {
            used += shown(c).width();
            if used > self.max * 2 / 3 {
                break;
            }
            head_end = i + c.len_utf8();
        }
        let (mut tail_start, mut used) = (self.text.len(), 0);
        for (i, c) in self.text.char_indices().rev() {
            used += shown(c).width();
            if used > self.max / 3 || i < head_end {
                break;
            }
            tail_start = i;
        }
        let (head, rest) = self.text.split_at(head_end);
        let tail = rest.get(tail_start - head_end..).unwrap_or("");
        head.chars().try_for_each(|c| shown(c).write(f))?;
        write!(f, "…[{} bytes left out]…", rest.len() - tail.len())?;
        tail.chars().try_for_each(|c| shown(c).write(f))
    }
}

impl fmt::Debug for Cleaned<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escape_and_cut() {
        let long = "x".repeat(1 << 20);
        let cases: [(&str, String); 8] = [
            ("plain", "\"plain\"".into()),
            ("a\"b\\c", r#""a\"b\\c""#.into()),
            ("ab\u{202e}cd", r#""ab\u{202e}cd""#.into()),
            ("\u{1b}[31mred\0", r#""\u{1b}[31mred\u{0}""#.into()),
            ("one\ntwo\r\tthree", r#""one\ntwo\r\tthree""#.into()),
            (
                "zero\u{200b}width\u{feff}\u{2066}",
                r#""zero\u{200b}width\u{feff}\u{2066}""#.into(),
            ),
            ("héllo ✓", "\"héllo ✓\"".into()),
            (&long, format!("\"{}\"… (1048576 bytes)", "x".repeat(SHOWN))),
        ];
        for (value, want) in cases {
            assert_eq!(quote(value).to_string(), want);
        }
        assert_eq!(code("a`b").to_string(), r"`a\`b`");
        // An escape is never cut in half.
        let bidi = "\u{202e}".repeat(200);
        let got = quote(&bidi).to_string();
        assert!(
            got.starts_with("\"\\u{202e}") && got.ends_with("\"… (600 bytes)"),
            "{got}"
        );
        assert_eq!(got.matches("\\u{202e}").count(), SHOWN / 8);
    }

    #[test]
    fn clean_escapes_and_keeps_both_ends() {
        assert_eq!(clean("a \"b\" \\ c", 50).to_string(), "a \"b\" \\ c");
        assert_eq!(
            clean("x\u{202e}y\nerror: forged", 50).to_string(),
            "x\\u{202e}y\\nerror: forged"
        );
        let text = format!(
            "invalid value: string \"{}\", expected a port",
            "y".repeat(5000)
        );
        let got = clean(&text, 300).to_string();
        assert!(got.len() < 350, "{got}");
        assert!(got.starts_with("invalid value: string \"yyy"), "{got}");
        assert!(got.ends_with("yyy\", expected a port"), "{got}");
        assert!(got.contains("bytes left out]…"), "{got}");
    }

    #[test]
    fn hidden_characters() {
        for c in [
            '\0', '\u{7f}', '\u{85}', '\u{61c}', '\u{200e}', '\u{2067}', '\u{2028}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '✓', '中', '…'] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }
}
