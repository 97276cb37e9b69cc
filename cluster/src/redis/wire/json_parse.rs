//! A JSON parser with `JSON.parse` semantics, into [`Value`].
//!
//! Written here rather than taken from `serde_json` for three reasons: numbers are read exactly
//! (the standard library's correctly rounded `f64` parsing, so `0.30000000000000004` survives),
//! lone UTF-16 surrogates in `\u` escapes are accepted as JS accepts them (replaced by U+FFFD, since
//! Rust strings cannot hold them), and object keys keep their order. Input that is not UTF-8 is read
//! lossily first, as Node's `Buffer#toString` does before `JSON.parse`.
//!
//! Bounds: nesting deeper than [`MAX_DEPTH`] is refused before recursing, and every allocation
//! grows with the input consumed so far.

use std::borrow::Cow;

use super::MAX_DEPTH;
use super::error::WireError;
use super::value::Value;

/// Parses JSON text spanning the whole input (surrounding whitespace allowed).
pub(crate) fn parse(input: &[u8]) -> Result<Value, WireError> {
    let text = String::from_utf8_lossy(input);
    let text: &str = match &text {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => s,
    };
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    p.ws();
    let value = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("end of input"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, expected: &str) -> WireError {
        WireError::Json(format!("expected {expected} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, WireError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.err("a value"))
        }
    }

    /// One value; `depth` is the number of enclosing arrays and objects.
    fn value(&mut self, depth: usize) -> Result<Value, WireError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("a value")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        self.pos += 1;
        self.ws();
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.err("`,` or `]`"));
            }
            self.ws();
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, WireError> {
        if depth >= MAX_DEPTH {
            return Err(WireError::TooDeep);
        }
        self.pos += 1;
        self.ws();
        let mut entries = Vec::new();
        if self.eat(b'}') {
            return Ok(Value::Map(entries));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("a key"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b':') {
                return Err(self.err("`:`"));
            }
            self.ws();
            entries.push((key, self.value(depth + 1)?));
            self.ws();
            if self.eat(b'}') {
                return Ok(Value::Map(entries));
            }
            if !self.eat(b',') {
                return Err(self.err("`,` or `}`"));
            }
            self.ws();
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, WireError> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("a digit")),
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            if self.digits() == 0 {
                return Err(self.err("a digit"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(self.err("a digit"));
            }
        }
        let text = &self.text[start..self.pos];
        if integer {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Int(n));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::UInt(n));
            }
        }
        // The grammar was checked above, so this parses (to ±infinity when out of range, as in JS).
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("a number"))
    }

    fn hex4(&mut self) -> Result<u32, WireError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("4 hex digits"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.err("4 hex digits"))
    }

    fn string(&mut self) -> Result<String, WireError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // Stops only at ASCII bytes, so both ends are char boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                _ => return Err(self.err("`\"`")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), WireError> {
        let c = self.peek().ok_or_else(|| self.err("an escape"))?;
        self.pos += 1;
        let c = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{08}',
            b'f' => '\u{0c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if (0xd800..0xdc00).contains(&unit) && self.s[self.pos..].starts_with(b"\\u") {
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex4()?;
                    if (0xdc00..0xe000).contains(&low) {
                        let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                        return Ok(());
                    }
                    self.pos = save;
                }
                char::from_u32(unit).unwrap_or('\u{fffd}')
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("an escape"));
            }
        };
        out.push(c);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_exact() {
        assert_eq!(parse(b"0.30000000000000004"), Ok(Value::Float(0.1 + 0.2)));
        assert_eq!(
            parse(b"3.875085486033551e-277"),
            Ok(Value::Float(3.875085486033551e-277))
        );
        assert_eq!(parse(b"-9223372036854775808"), Ok(Value::Int(i64::MIN)));
        assert_eq!(
            parse(b"18446744073709551616"),
            Ok(Value::Float(18446744073709551616.0))
        );
        assert_eq!(parse(b"1E400"), Ok(Value::Float(f64::INFINITY)));
        assert_eq!(parse(b"-0"), Ok(Value::Int(0)));
        assert_eq!(parse(b"-0.0"), Ok(Value::Float(-0.0)));
        for bad in [
            "01", "1.", ".5", "+1", "1e", "-", "0x1", "1.e5", "NaN", "Infinity",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_like_json_parse() {
        assert_eq!(
            parse(br#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#),
            Ok(Value::str("a\"\\/\u{8}\u{c}\n\r\té😀"))
        );
        // Lone surrogates, which JS keeps and Rust cannot hold.
        assert_eq!(
            parse(br#""\ud800x\udc00""#),
            Ok(Value::str("\u{fffd}x\u{fffd}"))
        );
        assert_eq!(parse(br#""\ud800\u0041""#), Ok(Value::str("\u{fffd}A")));
        assert_eq!(parse(b"\"\xff\""), Ok(Value::str("\u{fffd}")));
        for bad in [
            "\"a",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\u{1}\"",
            "\"\\u00zz\"",
            "\"\\",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn structure() {
        assert_eq!(
            parse(b" { \"a\" : [ 1 , { } , [ ] ] , \"a\" : true } "),
            Ok(Value::Map(vec![
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Int(1),
                        Value::Map(vec![]),
                        Value::Array(vec![])
                    ])
                ),
                ("a".into(), Value::Bool(true)),
            ]))
        );
        for bad in [
            "",
            " ",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "{1:2}",
            "[1 2]",
            "tru",
            "nul",
            "{} {}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
