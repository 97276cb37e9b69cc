//! Numbers as JS's `Number.prototype.toString` (and so `JSON.stringify`) writes them.
//!
//! The shortest digits that round-trip come from Rust's `{:e}` formatting (the same digits JS
//! picks); they are then laid out by the ECMAScript rules: plain digits for exponents in
//! `-7 < e < 21`, otherwise `d.ddde±x`.

/// Appends `f` as JS writes it. NaN and the infinities give `NaN`, `Infinity`, `-Infinity` (callers
/// writing JSON check for them first); `-0` gives `0`.
pub(crate) fn write(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if f == 0.0 {
        out.push('0');
        return;
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // At most 17 significant digits, so these casts are exact.
    let k = digits.len() as i32;
    let n = exp + 1;
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

#[cfg(test)]
mod tests {
    fn js(f: f64) -> String {
        let mut s = String::new();
        super::write(f, &mut s);
        s
    }

    #[test]
    fn like_js() {
        assert_eq!(js(1.5), "1.5");
        assert_eq!(js(2.0), "2");
        assert_eq!(js(-0.0), "0");
        assert_eq!(js(1e21), "1e+21");
        assert_eq!(js(1e20), "100000000000000000000");
        assert_eq!(js(123456789012345680000.0), "123456789012345680000");
        assert_eq!(js(1e-7), "1e-7");
        assert_eq!(js(1.5e-7), "1.5e-7");
        assert_eq!(js(0.000001), "0.000001");
        assert_eq!(js(-0.25), "-0.25");
        assert_eq!(js(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(js(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(js(5e-324), "5e-324");
        assert_eq!(js(f64::from(1.1f32)), "1.100000023841858");
        assert_eq!(js(f64::NAN), "NaN");
        assert_eq!(js(f64::NEG_INFINITY), "-Infinity");
    }
}
