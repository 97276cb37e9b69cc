//! The JSON scanner on its own: what it accepts, what it refuses, the element ranges it reports,
//! and string unescaping.

use std::ops::ControlFlow;

use crate::socket_io::MAX_DEPTH;
use crate::socket_io::json_scan::{ScanError, scan, unescape};

/// The texts of the top-level array's elements, or the error.
fn elements(json: &str) -> Result<Vec<&str>, ScanError> {
    let mut found = Vec::new();
    scan(json, |range| {
        found.push(json.get(range).expect("a range inside the text"));
        ControlFlow::Continue(())
    })
    .map(|()| found)
}

fn accepts(json: &str) -> bool {
    let verdict = elements(json).is_ok();
    let oracle = serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok();
    assert_eq!(verdict, oracle, "scan and serde_json disagree on {json:?}");
    verdict
}

#[test]
fn numbers() {
    for ok in [
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "1.5",
        "-0.0",
        "1e5",
        "1E+2",
        "1e-2",
        "0e0",
        "-0.5E-07",
        "12345678901234567890123456789",
        "1e999999",
    ] {
        assert!(accepts(ok), "{ok}");
        assert!(accepts(&format!("[{ok},{ok}]")), "{ok}");
    }
    for bad in [
        "-", "01", "-01", "00", "1.", ".5", "1e", "1e+", "1E-", "+1", "1.e5", "--1", "1.5.3",
        "1e5e", "0x1", "Infinity", "NaN", "-a", "1_0",
    ] {
        assert!(!accepts(bad), "{bad}");
        assert!(!accepts(&format!("[{bad}]")), "{bad}");
    }
}

#[test]
fn strings() {
    for ok in [
        r#""""#,
        r#""abc""#,
        r#""é😀\u007f""#,
        r#""\"\\\/\b\f\n\r\t""#,
        r#""\u0000\u00e9\uABCD\uabcd""#,
        r#""\ud83d\ude00""#,
        // Lone surrogates, as serde_json (skipping a value) and `JSON.parse` accept them.
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""\ud800\ud800""#,
        r#""\ud800\n""#,
        "\"\u{7f}\"",
        r#""[,]{:}""#,
    ] {
        assert!(accepts(ok), "{ok}");
    }
    for bad in [
        "\"",
        r#""abc"#,
        "\"a\u{1}\"",
        "\"a\nb\"",
        "\"\t\"",
        "\"\u{1f}\"",
        r#""\x""#,
        r#""\a""#,
        r#""\U0041""#,
        r#""\u""#,
        r#""\u12""#,
        r#""\u123""#,
        r#""\u12g4""#,
        r#""\"#,
        r#""\u00e9"#,
        "'a'",
    ] {
        assert!(!accepts(bad), "{bad}");
    }
    // A control character, a quote or an escape at every offset of strings read sixteen bytes and
    // one byte at a time, next to multi-byte characters (whose bytes are all 0x80 or above).
    for len in [20, 41] {
        for at in 0..len {
            let plain = "aé".repeat(len).chars().take(len).collect::<String>();
            let (head, tail) =
                plain.split_at(plain.char_indices().nth(at).map_or(plain.len(), |(i, _)| i));
            for (inserted, valid) in [
                ("\u{1}", false),
                ("\u{1f}", false),
                ("\"", false),
                ("\\n", true),
                ("\\u00e9", true),
                ("\\q", false),
                (" ", true),
                ("\u{7f}", true),
            ] {
                let s = format!("[\"{head}{inserted}{tail}\",1]");
                assert_eq!(accepts(&s), valid, "{s:?}");
            }
        }
    }
}

#[test]
fn digit_runs_of_every_length() {
    // Runs read eight digits at a time, ended by every kind of byte: digits' neighbours in ASCII
    // (`/` is 0x2f, `:` to `?` are 0x3a to 0x3f, which share a digit's high nibble).
    let digits = "1234567890".repeat(3);
    for len in 1..=digits.len() {
        let number = &digits[..len];
        for end in [
            ",0", "]", ".5", "e3", "E-3", ":", "?", "/", " ", "a", "\u{e9}", "0",
        ] {
            accepts(&format!("[{number}{end}"));
            accepts(&format!("[-{number}{end}]"));
            accepts(&format!("[0.{number}{end}]"));
            accepts(&format!("[1e{number}{end}]"));
        }
    }
}

#[test]
fn literals_and_structure() {
    for ok in [
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[[]]",
        "[{}]",
        r#"{"a":[1,{"b":null}],"c":"d"}"#,
        r#"{"a":1,"a":2}"#,
    ] {
        assert!(accepts(ok), "{ok}");
    }
    for bad in [
        "",
        " ",
        "tru",
        "nul",
        "fals",
        "truex",
        "True",
        "nulll",
        "[",
        "]",
        "{",
        "}",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[,]",
        "{,}",
        r#"{"a"}"#,
        r#"{"a":}"#,
        r#"{"a" 1}"#,
        r#"{"a":1,}"#,
        "{1:2}",
        "{a:1}",
        "[}",
        "{]",
        r#"{"a":1]"#,
        "[1}",
        "[1]]",
        "[1][2]",
        "1 2",
        "[1] x",
        "{}{}",
        "\u{feff}[]",
        "[\u{a0}]",
    ] {
        assert!(!accepts(bad), "{bad:?}");
    }
}

#[test]
fn whitespace_wherever_allowed() {
    let ws = " \t\n\r";
    let spaced = format!(
        r#"{ws}[{ws}1{ws},{ws}{{{ws}"a"{ws}:{ws}true{ws},{ws}"b"{ws}:{ws}[{ws}]{ws}}}{ws},{ws}"x"{ws}]{ws}"#
    );
    assert_eq!(
        elements(&spaced),
        Ok(vec![
            "1",
            &format!(r#"{{{ws}"a"{ws}:{ws}true{ws},{ws}"b"{ws}:{ws}[{ws}]{ws}}}"#),
            r#""x""#
        ])
    );
    assert!(accepts(&spaced));
    assert_eq!(elements(" [ ] "), Ok(vec![]));
    // Form feed and vertical tab are not JSON whitespace.
    assert!(!accepts("\u{c}[]"));
    assert!(!accepts("[]\u{b}"));
}

#[test]
fn element_ranges() {
    assert_eq!(elements("[]"), Ok(vec![]));
    assert_eq!(elements("[[]]"), Ok(vec!["[]"]));
    assert_eq!(
        elements(r#"["a,b]", {"c":[1,2]}, [3,[4]], "\"]", -1e3]"#),
        Ok(vec![
            r#""a,b]""#,
            r#"{"c":[1,2]}"#,
            "[3,[4]]",
            r#""\"]""#,
            "-1e3"
        ])
    );
    // Only the top-level array has elements.
    assert_eq!(elements(r#"{"a":[1,2]}"#), Ok(vec![]));
    assert_eq!(elements(r#""[1,2]""#), Ok(vec![]));
    assert_eq!(elements("7"), Ok(vec![]));
    // An element is reported once the `,` or `]` after it is seen, not before.
    assert_eq!(elements("[1,2x]"), Err(ScanError::Syntax));
    let mut seen = Vec::new();
    let _ = scan("[1,2x]", |r| {
        seen.push((r.start, r.end));
        ControlFlow::Continue(())
    });
    assert_eq!(seen, [(1, 2)]);
}

#[test]
fn break_stops_the_scan() {
    let mut first = None;
    let verdict = scan(r#"["name", garbage"#, |r| {
        first = Some(r);
        ControlFlow::Break(())
    });
    assert_eq!((verdict, first), (Ok(()), Some(1..7)));
}

#[test]
fn nesting_up_to_max_depth() {
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    assert_eq!(elements(&nested(MAX_DEPTH)).map(|e| e.len()), Ok(1));
    assert_eq!(elements(&nested(MAX_DEPTH + 1)), Err(ScanError::TooDeep));
    let objects = |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
    assert!(elements(&objects(MAX_DEPTH)).is_ok());
    assert_eq!(elements(&objects(MAX_DEPTH + 1)), Err(ScanError::TooDeep));
    // Too deep even when the text is cut short: the depth is checked as the containers open.
    assert_eq!(
        elements(&"[".repeat(MAX_DEPTH + 1)),
        Err(ScanError::TooDeep)
    );
    assert_eq!(elements(&"[".repeat(MAX_DEPTH)), Err(ScanError::Syntax));
    // Depth goes down again: many shallow containers are fine.
    assert!(elements(&format!("[{}0]", "[[[]]],".repeat(10_000))).is_ok());
    // Mixed arrays and objects close in the right order at every level.
    let mixed = format!("{}0{}", "[{\"a\":".repeat(256), "}]".repeat(256));
    assert!(elements(&mixed).is_ok());
    let wrong = format!("{}0{}", "[{\"a\":".repeat(256), "]}".repeat(256));
    assert_eq!(elements(&wrong), Err(ScanError::Syntax));
}

#[test]
fn unescaping() {
    let value = |lit| unescape(lit).into_owned();
    assert!(matches!(
        unescape(r#""plain""#),
        std::borrow::Cow::Borrowed("plain")
    ));
    assert_eq!(value(r#""""#), "");
    assert_eq!(value(r#""a\"b\\c\/d""#), "a\"b\\c/d");
    assert_eq!(value(r#""\b\f\n\r\t""#), "\u{8}\u{c}\n\r\t");
    assert_eq!(value(r#""\u0063onnect""#), "connect");
    assert_eq!(value(r#""\u00E9\u00e9é""#), "ééé");
    assert_eq!(value(r#""\ud83d\ude00!""#), "😀!");
    assert_eq!(value(r#""\ud800""#), "\u{fffd}");
    assert_eq!(value(r#""\udc00\ud800""#), "\u{fffd}\u{fffd}");
    assert_eq!(value(r#""\ud800\ud83d\ude00""#), "\u{fffd}😀");
    assert_eq!(value(r#""\ud800\n""#), "\u{fffd}\n");
    assert_eq!(value(r#""\ud800\u0041""#), "\u{fffd}A");
    assert_eq!(value(r#""\u0000""#), "\0");
}
