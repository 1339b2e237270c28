//! The size of the program a regular expression compiles to, counted as RE2 counts it, by a
//! parser of the pattern's syntax that keeps nothing but the count.
//!
//! The count decides what an expression may cost a request (the engine's `budget`), in the
//! compiler (which refuses large programs) and in the filter (which charges each run), so
//! both call this one function. It is written here rather than taken from regex-syntax's
//! AST parser, which does the same job but was 68 KB of the 510 KB module, compiled by V8 on
//! every start and every new `.wasm`, for a number. The syntax is regex-syntax's (which
//! regex-lite follows): a test checks the two agree on sizes and on what parses.
//!
//! Counting: one instruction per literal character, class, `.` or assertion; one per
//! alternative after the first and per `?`, `*` or `+`; two per capture group; a counted
//! repetition is that many copies of its body (`{n,m}`: m copies and m − n splits).

use core::iter::Peekable;
use core::str::Chars;

/// The flags a group may set.
const FLAGS: &str = "imsUuxR";

/// Deeper nesting than this is refused, as regex-syntax's default nest limit does; it also
/// bounds this parser's recursion.
const NEST_LIMIT: u32 = 250;

/// The size of the program `pattern` compiles to.
///
/// # Errors
/// What is wrong with a pattern that does not parse.
pub fn program_size(pattern: &str) -> Result<u32, String> {
    let mut parser = Parser {
        chars: pattern.chars().peekable(),
        depth: 0,
    };
    let size = parser.alternation(false, false).map_err(str::to_string)?;
    Ok(u32::try_from(size).unwrap_or(u32::MAX))
}

/// What is wrong with a pattern: fixed texts keep the parser small in the `.wasm`.
type Result<T, E = &'static str> = core::result::Result<T, E>;

struct Parser<'a> {
    chars: Peekable<Chars<'a>>,
    depth: u32,
}

/// A repetition operator.
enum Repeat {
    /// `?`, `*` or `+`: one split.
    Optional,
    /// `{n}`: n copies.
    Exactly(u64),
    /// `{n,}`: n copies (at least one) and a loop.
    AtLeast(u64),
    /// `{n,m}`: m copies (at least one) and a split for each optional one.
    Bounded(u64, u64),
}

impl Repeat {
    fn size(&self, body: u64) -> u64 {
        match *self {
            Repeat::Optional => body.saturating_add(1),
            Repeat::Exactly(n) => body.saturating_mul(n),
            Repeat::AtLeast(n) => body.saturating_mul(n.max(1)).saturating_add(1),
            Repeat::Bounded(n, m) => body.saturating_mul(m.max(1)).saturating_add(m - n),
        }
    }
}

/// What one step of a concatenation added.
enum Item {
    /// Something a repetition may follow, of this size.
    Atom(u64),
    /// A flag group such as `(?i)`: no instructions.
    Flags { verbose: Option<bool> },
    /// The end of this alternative.
    Bar,
    /// The end of the group (or of the pattern).
    End,
}

impl Parser<'_> {
    fn bump(&mut self) -> Option<char> {
        self.chars.next()
    }

    fn eat(&mut self, c: char) -> bool {
        self.chars.next_if_eq(&c).is_some()
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > NEST_LIMIT {
            return Err("nested too deeply");
        }
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
    }

    /// Whitespace and `#` comments, which the `x` flag makes insignificant.
    fn skip_space(&mut self) {
        loop {
            self.skip_whitespace();
            if !self.eat('#') {
                return;
            }
            while self.chars.next_if(|&c| c != '\n').is_some() {}
        }
    }

    /// The alternatives up to the `)` closing a group (`in_group`) or the end of the pattern.
    fn alternation(&mut self, in_group: bool, verbose: bool) -> Result<u64> {
        let mut verbose = verbose;
        let mut alternatives: u64 = 0;
        let mut total: u64 = 0;
        loop {
            let (size, end) = self.concat(&mut verbose)?;
            total = total.saturating_add(size);
            alternatives += 1;
            if !matches!(end, Item::Bar) {
                break;
            }
        }
        if in_group && !self.eat(')') {
            return Err("unclosed group");
        }
        Ok(total.saturating_add(alternatives - 1))
    }

    /// One alternative: its size, and whether a `|` or the end stopped it.
    fn concat(&mut self, verbose: &mut bool) -> Result<(u64, Item)> {
        let mut done: u64 = 0;
        // The item a repetition would apply to.
        let mut last: Option<u64> = None;
        loop {
            if *verbose {
                self.skip_space();
            }
            if let Some(repeat) = self.repetition()? {
                let Some(body) = last else {
                    return Err("repetition operator missing expression");
                };
                // A lazy repetition compiles to the same program.
                self.eat('?');
                last = Some(repeat.size(body));
                continue;
            }
            let item = self.item(*verbose)?;
            done = done.saturating_add(last.take().unwrap_or(0));
            match item {
                Item::Atom(size) => last = Some(size),
                Item::Flags { verbose: set } => {
                    *verbose = set.unwrap_or(*verbose);
                    // regex-syntax refuses a repetition here, regex-lite repeats nothing.
                    last = Some(0);
                }
                Item::Bar | Item::End => return Ok((done, item)),
            }
        }
    }

    /// A repetition operator, if one comes next.
    fn repetition(&mut self) -> Result<Option<Repeat>> {
        if self
            .chars
            .next_if(|c| matches!(c, '*' | '+' | '?'))
            .is_some()
        {
            return Ok(Some(Repeat::Optional));
        }
        if !self.eat('{') {
            return Ok(None);
        }
        let min = self.decimal()?;
        let repeat = if self.eat(',') {
            self.skip_whitespace();
            if self.chars.peek() == Some(&'}') {
                Repeat::AtLeast(min)
            } else {
                let max = self.decimal()?;
                if max < min {
                    return Err("invalid repetition range");
                }
                Repeat::Bounded(min, max)
            }
        } else {
            Repeat::Exactly(min)
        };
        if !self.eat('}') {
            return Err("unclosed counted repetition");
        }
        Ok(Some(repeat))
    }

    /// A decimal count and the whitespace around it, which counted repetitions allow.
    fn decimal(&mut self) -> Result<u64> {
        self.skip_whitespace();
        let mut value: Option<u32> = None;
        while let Some(d) = self
            .chars
            .next_if(char::is_ascii_digit)
            .and_then(|d| d.to_digit(10))
        {
            value = value
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|v| v.checked_add(d))
                .map(Some)
                .ok_or("repetition count too large")?;
        }
        self.skip_whitespace();
        value.map(u64::from).ok_or("invalid repetition count")
    }

    fn item(&mut self, verbose: bool) -> Result<Item> {
        if self.chars.peek() == Some(&')') {
            // The group that opened it consumes it.
            if self.depth == 0 {
                return Err("unopened group");
            }
            return Ok(Item::End);
        }
        let Some(c) = self.bump() else {
            return Ok(Item::End);
        };
        match c {
            '|' => Ok(Item::Bar),
            '(' => self.group(verbose),
            '[' => {
                self.nest()?;
                self.class()?;
                self.depth -= 1;
                Ok(Item::Atom(1))
            }
            '\\' => self.escape(false).map(|()| Item::Atom(1)),
            _ => Ok(Item::Atom(1)),
        }
    }

    /// A group after its `(`: a capture, a non-capturing group, or a flag setting.
    fn group(&mut self, verbose: bool) -> Result<Item> {
        self.nest()?;
        let mut inner = verbose;
        let captures = if self.eat('?') {
            if self.eat('P') {
                if self.eat('=') {
                    return Err("backreferences are not supported");
                }
                if !self.eat('<') {
                    return Err("invalid named group");
                }
                self.group_name()?;
                2
            } else if self.eat('<') {
                self.group_name()?;
                2
            } else {
                let (set, scoped) = self.flags()?;
                if !scoped {
                    self.depth -= 1;
                    return Ok(Item::Flags { verbose: set });
                }
                inner = set.unwrap_or(verbose);
                0
            }
        } else {
            2
        };
        let body = self.alternation(true, inner)?;
        self.depth -= 1;
        Ok(Item::Atom(body.saturating_add(captures)))
    }

    /// The name of a capture group, after its `<`, through its `>`.
    fn group_name(&mut self) -> Result<()> {
        let mut first = true;
        loop {
            match self.bump() {
                Some('>') if !first => return Ok(()),
                Some(c) if is_name_char(c, first) => first = false,
                _ => return Err("invalid capture group name"),
            }
        }
    }

    /// Flags after `(?`, through the `:` that scopes them to a group (true) or the `)`
    /// that sets them for the rest of the enclosing group (false); what they say of `x`.
    fn flags(&mut self) -> Result<(Option<bool>, bool)> {
        let mut verbose = None;
        let mut negated = false;
        let mut seen = [false; FLAGS.len()];
        let mut last_was_minus = false;
        loop {
            let Some(c) = self.bump() else {
                return Err("unclosed group");
            };
            match c {
                ':' | ')' => {
                    if last_was_minus || (c == ')' && !seen.contains(&true)) {
                        return Err("invalid flags");
                    }
                    return Ok((verbose, c == ':'));
                }
                '-' if !negated => {
                    negated = true;
                    last_was_minus = true;
                    continue;
                }
                _ => {
                    let Some(flag) = FLAGS.find(c).and_then(|i| seen.get_mut(i)) else {
                        return Err("invalid flags");
                    };
                    if std::mem::replace(flag, true) {
                        return Err("repeated flag");
                    }
                    if c == 'x' {
                        verbose = Some(!negated);
                    }
                }
            }
            last_was_minus = false;
        }
    }

    /// A bracketed class after its `[`, through its `]`. Ranges are found (their end may
    /// be a `[`) but not checked: an inverted one is regex-lite's to refuse.
    fn class(&mut self) -> Result<()> {
        self.eat('^');
        // A `]` first is a literal.
        let mut after_literal = self.eat(']');
        loop {
            let Some(c) = self.bump() else {
                return Err("unclosed character class");
            };
            after_literal = match c {
                ']' => return Ok(()),
                '-' if self.eat('-') => false,
                '-' if after_literal && self.chars.peek().is_some_and(|&c| c != ']') => {
                    self.range_end()?;
                    false
                }
                '&' | '~' if self.eat(c) => false,
                '\\' => {
                    self.escape(true)?;
                    true
                }
                '[' if self.ascii_class() => false,
                '[' => {
                    self.nest()?;
                    self.class()?;
                    self.depth -= 1;
                    false
                }
                _ => true,
            };
        }
    }

    /// The end of a range in a class, after its `-`: one character or escape.
    fn range_end(&mut self) -> Result<()> {
        match self.bump() {
            Some('\\') => self.escape(true),
            Some(_) => Ok(()),
            None => Err("unclosed character class"),
        }
    }

    /// Consumes `:name:]` after a `[` if that is what follows (`[[:alpha:]]`).
    fn ascii_class(&mut self) -> bool {
        let mut ahead = self.chars.clone();
        if ahead.next() != Some(':') {
            return false;
        }
        ahead.next_if_eq(&'^');
        let mut name = 0;
        while ahead.next_if(char::is_ascii_lowercase).is_some() {
            name += 1;
        }
        let closed = ahead.next() == Some(':') && ahead.next() == Some(']');
        if name > 0 && closed {
            self.chars = ahead;
        }
        name > 0 && closed
    }

    /// An escape after its `\`: a literal, a class or (outside a class) an assertion, one
    /// instruction each.
    fn escape(&mut self, in_class: bool) -> Result<()> {
        let Some(c) = self.bump() else {
            return Err("incomplete escape");
        };
        match c {
            'x' => self.hex(2),
            'u' => self.hex(4),
            'U' => self.hex(8),
            'p' | 'P' => {
                if self.eat('{') {
                    self.braced()
                } else {
                    self.bump().map(drop).ok_or("incomplete escape")
                }
            }
            'b' | 'B' | 'A' | 'z' | '<' | '>' if in_class => Err("assertion in a character class"),
            'b' => {
                if self.chars.peek() == Some(&'{') {
                    self.word_boundary_name();
                }
                Ok(())
            }
            'd' | 's' | 'w' | 'D' | 'S' | 'W' | 'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'A' | 'z'
            | 'B' | '<' | '>' => Ok(()),
            '0'..='9' => Err("backreferences are not supported"),
            c if c.is_ascii_alphanumeric() || !c.is_ascii() => Err("unrecognized escape"),
            _ => Ok(()),
        }
    }

    /// `\b{start}` and the like: consumes the braces when they name a boundary, and leaves
    /// them when they are a repetition (`\b{2}`).
    fn word_boundary_name(&mut self) {
        let mut ahead = self.chars.clone();
        ahead.next();
        let mut name = String::new();
        while let Some(c) = ahead.next_if(|&c| c.is_ascii_lowercase() || c == '-') {
            name.push(c);
        }
        let known = matches!(name.as_str(), "start" | "end" | "start-half" | "end-half");
        if known && ahead.next() == Some('}') {
            self.chars = ahead;
        }
    }

    /// The hex digits of `\x`, `\u` or `\U`: `digits` of them, or any number in braces.
    fn hex(&mut self, digits: usize) -> Result<()> {
        let braced = self.eat('{');
        let mut value: u32 = 0;
        let mut count = 0;
        while braced || count < digits {
            let Some(d) = self.chars.next_if(char::is_ascii_hexdigit) else {
                break;
            };
            value = value
                .saturating_mul(16)
                .saturating_add(d.to_digit(16).unwrap_or(0));
            count += 1;
        }
        let closed = !braced || self.eat('}');
        let complete = if braced { count > 0 } else { count == digits };
        match char::from_u32(value) {
            Some(_) if closed && complete => Ok(()),
            _ => Err("invalid hexadecimal escape"),
        }
    }

    /// A non-empty run of characters other than `}`, and the `}` closing it.
    fn braced(&mut self) -> Result<()> {
        let mut any = false;
        while self.chars.next_if(|&c| c != '}').is_some() {
            any = true;
        }
        if any && self.eat('}') {
            Ok(())
        } else {
            Err("invalid braced escape")
        }
    }
}

/// Capture names: a letter or `_` first, then letters, digits, `_`, `.`, `[` or `]`.
fn is_name_char(c: char, first: bool) -> bool {
    if first {
        c == '_' || c.is_alphabetic()
    } else {
        "_.[]".contains(c) || c.is_alphanumeric()
    }
}

#[cfg(test)]
mod tests {
    use super::program_size;
    use regex_syntax::ast::{self, Ast, RepetitionKind, RepetitionRange};

    /// RE2's count over regex-syntax's AST: what this module must agree with.
    fn reference(pattern: &str) -> Result<u64, ()> {
        let ast = ast::parse::Parser::new().parse(pattern).map_err(drop)?;
        Ok(size(&ast))
    }

    fn size(node: &Ast) -> u64 {
        match node {
            Ast::Empty(_) | Ast::Flags(_) => 0,
            Ast::Literal(_)
            | Ast::Dot(_)
            | Ast::Assertion(_)
            | Ast::ClassUnicode(_)
            | Ast::ClassPerl(_)
            | Ast::ClassBracketed(_) => 1,
            Ast::Repetition(r) => {
                let body = size(&r.ast);
                match &r.op.kind {
                    RepetitionKind::ZeroOrOne
                    | RepetitionKind::ZeroOrMore
                    | RepetitionKind::OneOrMore => body.saturating_add(1),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => {
                        body.saturating_mul(u64::from(*n))
                    }
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => body
                        .saturating_mul(u64::from((*n).max(1)))
                        .saturating_add(1),
                    RepetitionKind::Range(RepetitionRange::Bounded(n, m)) => body
                        .saturating_mul(u64::from((*m).max(1)))
                        .saturating_add(u64::from(m.saturating_sub(*n))),
                }
            }
            Ast::Group(g) => {
                let captures = if g.capture_index().is_some() { 2 } else { 0 };
                size(&g.ast).saturating_add(captures)
            }
            Ast::Alternation(a) => a
                .asts
                .iter()
                .map(size)
                .fold(a.asts.len().saturating_sub(1) as u64, u64::saturating_add),
            Ast::Concat(c) => c.asts.iter().map(size).fold(0, u64::saturating_add),
        }
    }

    /// Every pattern regex-syntax parses parses here to the same size, and every pattern
    /// regex-lite compiles parses here. The converse is not required: a few patterns both
    /// refuse (an inverted range in a class) are sized here, and regex-lite refuses them
    /// when the compiler or the router compiles them.
    fn agrees(pattern: &str) -> Result<(), String> {
        let ours = program_size(pattern).map(u64::from).map_err(drop);
        let theirs = reference(pattern).map(|s| s.min(u64::from(u32::MAX)));
        if theirs.is_ok() && ours != theirs {
            return Err(format!(
                "{pattern:?}: ours {ours:?}, regex-syntax {theirs:?}"
            ));
        }
        if ours.is_err() && regex_lite::Regex::new(pattern).is_ok() {
            return Err(format!("{pattern:?}: regex-lite compiles it, ours refuses"));
        }
        Ok(())
    }

    /// Pieces of the syntax, including the awkward ones, that random patterns are made of.
    const PIECES: &[&str] = &[
        "a",
        "/",
        "-",
        "é",
        ".",
        "^",
        "$",
        "(",
        ")",
        "(?:",
        "(?i)",
        "(?x)",
        "(?-x)",
        "(?i:",
        "(?x:",
        "(?P<n>",
        "(?<m1>",
        "(?P=n)",
        "(?",
        "(?)",
        "(?i-)",
        "(?ii)",
        "|",
        "[",
        "]",
        "[^",
        "[]",
        "[a-z]",
        "[[:alpha:]]",
        "[:",
        ":]",
        "[\\]]",
        "[a&&b]",
        "*",
        "+",
        "?",
        "*?",
        "{2}",
        "{1,3}",
        "{2,}",
        "{0}",
        "{0,0}",
        "{3,1}",
        "{ 2 , 3 }",
        "{",
        "}",
        "{x}",
        "\\d",
        "\\W",
        "\\b",
        "\\B",
        "\\b{start}",
        "\\b{2}",
        "\\A",
        "\\z",
        "\\<",
        "\\.",
        "\\/",
        "\\ ",
        "\\#",
        "\\x41",
        "\\x{1F600}",
        "\\x{110000}",
        "\\u00e9",
        "\\pL",
        "\\p{Greek}",
        "\\q",
        "\\1",
        "\\",
        " ",
        "#",
        "\n",
        "\\é",
        "--",
        "~~",
        "-[",
    ];

    #[test]
    fn agrees_with_regex_syntax_and_regex_lite_on_random_patterns() {
        // A fixed xorshift sequence: the same patterns every run.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut failures = Vec::new();
        let mut parsed = 0;
        for _ in 0..200_000 {
            let len = 1 + next() % 8;
            let pattern: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            parsed += usize::from(reference(&pattern).is_ok());
            if let Err(e) = agrees(&pattern) {
                failures.push(e);
            }
        }
        let shown = &failures[..failures.len().min(20)];
        assert!(
            failures.is_empty(),
            "{} disagree: {shown:#?}",
            failures.len()
        );
        // The generator must exercise valid patterns too, not only errors.
        assert!(parsed > 20_000, "only {parsed} patterns parsed");
    }

    #[test]
    fn counted_repetitions_multiply_their_body() {
        assert_eq!(program_size("/api/v1/.*"), Ok(10));
        assert_eq!(program_size("/api/v[0-9]+/users/[a-z0-9-]+"), Ok(17));
        // The stalling patterns from the field are thousands of instructions.
        assert_eq!(program_size("/api/v1/(.*){1,1000}"), Ok(5007));
        assert!(program_size("/api/v1/(a{1,1000}){1,10}b").is_ok_and(|s| s > 10_000));
        assert!(program_size(".*(.*){1,4000}").is_ok_and(|s| s > 10_000));
        assert!(program_size("(").is_err());
    }

    #[test]
    fn nested_bounds_saturate_instead_of_overflowing() {
        let size = program_size("((((a{1000}){1000}){1000}){1000}){1000}");
        assert_eq!(size, Ok(u32::MAX));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(program_size(&deep).is_err());
        let classes = format!("{}a{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(program_size(&classes).is_err());
    }
}
