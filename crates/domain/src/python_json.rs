//! A faithful model of the subset of CPython 3.11 behaviour that the config
//! hash depends on: `json.loads` value semantics, `float.__repr__`,
//! `round(float, n)` and `json.dumps(obj, sort_keys=True,
//! separators=(',', ':'))` with its defaults (`ensure_ascii=True`,
//! `allow_nan=True`).
//!
//! Why this exists: config hashes were first computed (and stored) by a Python
//! implementation. Any byte that differs in the canonical JSON changes the
//! SHA-256, so "close enough" JSON is useless here; every formatting rule below
//! mirrors a specific CPython code path.
//!
//! The module works on [`PyValue`], the value Python would hold after
//! `json.loads`, rather than on [`serde_json::Value`] directly, because Python
//! holds values a `serde_json::Value` cannot (`inf` from a literal such as
//! `1e400`, written back as `Infinity`), and because the int/float
//! distinction must come from the literal text, not from its magnitude.
//!
//! Pitfall handled here: `float.__repr__` breaks ties between two equally near shortest
//! digit strings toward an even digit while Rust's `{:e}` rounds up; see
//! `shortest_digits` for the correction.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Python 3.11's default `sys.get_int_max_str_digits()`: `json.loads` refuses
/// integer literals with more digits than this (the sign does not count).
pub const PY_INT_MAX_STR_DIGITS: usize = 4300;

/// Nesting deeper than this is refused instead of risking a stack overflow.
/// CPython would raise `RecursionError` near 1000 levels; `serde_json`'s own
/// parser already stops at 128, so real request bodies never get close.
pub const MAX_DEPTH: usize = 512;

/// Why a JSON value has no Python equivalent (i.e. where `json.loads` raises).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PyJsonError {
    #[error(
        "integer literal has {digits} digits; Python refuses more than {PY_INT_MAX_STR_DIGITS}"
    )]
    IntTooLong { digits: usize },
    #[error("invalid number literal {0:?}")]
    InvalidNumber(String),
    #[error("value nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// What `json.loads` yields for a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    /// Decimal text of a Python `int`, exactly as `repr(int)` prints it:
    /// optional `-`, no leading zeros, never `-0`. Kept as text because Python
    /// ints are unbounded and must survive a round trip unchanged.
    Int(String),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    /// A `BTreeMap` orders keys by UTF-8 bytes, which is the same order as
    /// Python's code-point string comparison used by `sort_keys=True`.
    Dict(BTreeMap<String, PyValue>),
}

impl PyValue {
    /// Converts a parsed JSON value the way `json.loads` would.
    ///
    /// Relies on serde_json's `arbitrary_precision` feature so the literal
    /// text is still available: Python decides int vs float by the literal's
    /// shape (`1.0` and `1e2` are floats, `100` is an int of any size).
    pub fn from_json(value: &Value) -> Result<Self, PyJsonError> {
        Self::from_json_at(value, 0)
    }

    fn from_json_at(value: &Value, depth: usize) -> Result<Self, PyJsonError> {
        if depth > MAX_DEPTH {
            return Err(PyJsonError::TooDeep);
        }
        Ok(match value {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            // `to_string` yields the stored literal with arbitrary_precision and
            // a float-shaped text (`1.0`, `1e-5`) for floats without it.
            Value::Number(n) => number_from_literal(&n.to_string())?,
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(
                items
                    .iter()
                    .map(|v| Self::from_json_at(v, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Self::from_json_at(v, depth + 1)?)))
                    .collect::<Result<_, PyJsonError>>()?,
            ),
        })
    }

    /// Python truthiness (`bool(x)`), which decides `x or default`.
    /// `-0.0` is falsy and `nan` is truthy, exactly as in Python.
    pub fn is_truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(text) => text != "0",
            PyValue::Float(x) => *x != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(items) => !items.is_empty(),
            PyValue::Dict(map) => !map.is_empty(),
        }
    }

    /// Applies `round(x, ndigits)` to every float, recursing through lists and
    /// dict values; ints, bools and strings are left alone (in Python `bool`
    /// is not a `float`, so `isinstance` skips it too).
    pub fn round_floats(self, ndigits: i32) -> Self {
        match self {
            PyValue::Float(x) => PyValue::Float(python_round(x, ndigits)),
            PyValue::List(items) => {
                PyValue::List(items.into_iter().map(|v| v.round_floats(ndigits)).collect())
            }
            PyValue::Dict(map) => PyValue::Dict(
                map.into_iter()
                    .map(|(k, v)| (k, v.round_floats(ndigits)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `json.dumps(self, sort_keys=True, separators=(',', ':'))`.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            PyValue::None => out.push_str("null"),
            PyValue::Bool(true) => out.push_str("true"),
            PyValue::Bool(false) => out.push_str("false"),
            PyValue::Int(text) => out.push_str(text),
            PyValue::Float(x) => out.push_str(&json_float(*x)),
            PyValue::Str(s) => write_json_str(out, s),
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            PyValue::Dict(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(out, key);
                    out.push(':');
                    item.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// `json.dumps(json.loads(text_of(value)), sort_keys=True, separators=(',', ':'))`.
pub fn dumps(value: &Value) -> Result<String, PyJsonError> {
    Ok(PyValue::from_json(value)?.dumps())
}

/// Interprets a JSON number literal as `json.loads` does.
fn number_from_literal(text: &str) -> Result<PyValue, PyJsonError> {
    if text.contains(['.', 'e', 'E']) {
        // Both CPython and Rust parse with correct rounding, and both turn an
        // out-of-range literal such as `1e400` into an infinity.
        return text
            .parse::<f64>()
            .map(PyValue::Float)
            .map_err(|_| PyJsonError::InvalidNumber(text.to_owned()));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PyJsonError::InvalidNumber(text.to_owned()));
    }
    if digits.len() > PY_INT_MAX_STR_DIGITS {
        return Err(PyJsonError::IntTooLong {
            digits: digits.len(),
        });
    }
    let significant = digits.trim_start_matches('0');
    Ok(PyValue::Int(match (significant.is_empty(), negative) {
        // Python has no negative zero int: `-0` prints as `0`.
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{significant}"),
        (false, false) => significant.to_owned(),
    }))
}

/// Writes a JSON string literal the way CPython's `ensure_ascii` encoder does.
pub fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            // Everything else, including DEL (0x7f), becomes `\uXXXX` in
            // lowercase hex; astral characters become a UTF-16 surrogate pair.
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// How `json.dumps` writes a float: `repr` for finite values, and the
/// JavaScript-style names `allow_nan=True` emits for the others.
pub fn json_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        python_float_repr(x)
    }
}

/// Python's `repr(float)`: the shortest digit string that round-trips,
/// positional when the decimal exponent is in `-4..16`, otherwise scientific
/// with a signed, at least two-digit exponent (`1e-05`, `1.5e+16`).
/// Non-finite values give Python's `inf`, `-inf` and `nan`.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let (digits, exp) = shortest_digits(x.abs());
    let sign = if x.is_sign_negative() { "-" } else { "" };

    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{dot}{rest}e{exp_sign}{:02}",
            exp.unsigned_abs()
        );
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        let (int_part, frac_part) = digits.split_at(int_len);
        format!("{sign}{int_part}.{frac_part}")
    }
}

/// Shortest round-trip significant digits of a finite `abs >= 0` and the
/// decimal exponent of the first one (`d.ddd x 10^exp`), as CPython's dtoa
/// mode 0 picks them.
///
/// Rust's `{:e}` finds the same shortest length and, among the candidates of
/// that length, the nearest one; but when the two nearest are *equally* near
/// (e.g. 264310078315752.625 at 17 digits) Rust rounds up, whereas dtoa
/// rounds half to even (`...52.62`). So the digits are recomputed by rounding
/// the exact value half-to-even at that length, and kept when they still
/// round-trip (near a power of two the lower neighbour may not; then dtoa
/// and Rust agree on the other one).
fn shortest_digits(abs: f64) -> (String, i32) {
    let sci = format!("{abs:e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp output has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    if abs == 0.0 {
        return (digits, exp);
    }

    let (exact, int_len) = exact_decimal(abs);
    let first = exact
        .iter()
        .position(|&d| d != b'0')
        .expect("non-zero value has a non-zero digit");
    let mut even = round_half_even(&exact[first..], digits.len());
    let even_exp = int_len as i32 - 1 - first as i32 + (even.len() - digits.len()) as i32;
    while even.len() > 1 && even.last() == Some(&b'0') {
        even.pop();
    }
    let even = String::from_utf8(even).expect("ASCII digits");
    let (lead, rest) = even.split_at(1);
    let round_trips = format!("{lead}.{rest}0e{even_exp}").parse::<f64>() == Ok(abs);
    if round_trips {
        (even, even_exp)
    } else {
        (digits, exp)
    }
}

/// The exact decimal expansion of a finite `abs >= 0` as ASCII digits, and
/// how many of them precede the decimal point. Every f64 is a dyadic
/// rational with at most 1074 fractional binary (hence decimal) digits, so
/// this precision involves no rounding at all.
fn exact_decimal(abs: f64) -> (Vec<u8>, usize) {
    let text = format!("{abs:.1074}");
    let (int_part, frac_part) = text
        .split_once('.')
        .expect("fixed-precision output has a decimal point");
    let digits = int_part.bytes().chain(frac_part.bytes()).collect();
    (digits, int_part.len())
}

/// The first `keep` digits of `digits`, rounded half-to-even on everything
/// after them; one digit longer when rounding carries out (`99.5` -> `100`).
/// With `keep == 0` the (empty) kept part counts as even.
fn round_half_even(digits: &[u8], keep: usize) -> Vec<u8> {
    if keep >= digits.len() {
        return digits.to_vec();
    }
    let mut kept = digits[..keep].to_vec();
    let dropped = &digits[keep..];
    let round_up = match dropped[0] {
        b'6'..=b'9' => true,
        b'5' => {
            let above_half = dropped[1..].iter().any(|&d| d != b'0');
            let last_kept_odd = kept.last().is_some_and(|d| (d - b'0') % 2 == 1);
            above_half || last_kept_odd
        }
        _ => false,
    };
    if round_up {
        increment_decimal(&mut kept);
    }
    kept
}

/// Adds one to a big-endian ASCII decimal digit string, growing it on carry.
fn increment_decimal(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// CPython's `ndigits` cut-offs in `float.__round__`: beyond these the result
/// is `x` itself or a signed zero (values for IEEE-754 binary64).
const NDIGITS_MAX: i32 = 323;
const NDIGITS_MIN: i32 = -308;

/// Python's `round(x, ndigits)` for a float.
///
/// CPython rounds the *exact* binary value of `x` half-to-even at `ndigits`
/// decimal places (dtoa mode 3) and converts that decimal back with correct
/// rounding; the result keeps the sign of `x` (`round(-0.00001, 4) == -0.0`).
/// So `round(2.675, 2) == 2.67` (2.675 is really 2.67499999...) while the
/// exact tie `round(0.03125, 4) == 0.0312`.
///
/// We do the same on the exact decimal expansion of `x`, so no step here
/// depends on how `std` rounds ties. (Rust >= 1.67's `format!("{:.4}", x)`
/// followed by `parse` also rounds exact ties to even and agrees; the tests
/// cross-check both.)
///
/// Divergence: for negative `ndigits` a result beyond `f64::MAX` makes Python
/// raise `OverflowError`; here it becomes an infinity. The hasher only uses
/// `ndigits = 4`, where that cannot happen.
pub fn python_round(x: f64, ndigits: i32) -> f64 {
    if !x.is_finite() || ndigits > NDIGITS_MAX {
        return x;
    }
    if ndigits < NDIGITS_MIN {
        return 0.0 * x;
    }
    let (digits, int_len) = exact_decimal(x.abs());
    // How many leading digits survive; negative means even the first digit
    // is below half a rounding unit, so the result is zero.
    let keep = int_len as i64 + i64::from(ndigits);
    let magnitude = if keep < 0 {
        0.0
    } else {
        let mut kept = round_half_even(&digits, keep as usize);
        if kept.is_empty() {
            kept.push(b'0');
        }
        let kept = std::str::from_utf8(&kept).expect("ASCII digits");
        format!("{kept}e{}", -ndigits)
            .parse::<f64>()
            .expect("digits with exponent parse as f64")
    };
    magnitude.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(text: &str) -> PyValue {
        PyValue::from_json(&serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    // The tie cases are written as their exact binary values on purpose.
    #[allow(clippy::excessive_precision)]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (1e-05, "1e-05"),
            (1e16, "1e+16"),
            (100000.0, "100000.0"),
            (0.0001, "0.0001"),
            (1.5e16, "1.5e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (-0.1, "-0.1"),
            (1.0, "1.0"),
            (123.456, "123.456"),
            (1e22, "1e+22"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (0.00012345, "0.00012345"),
            (1.2345e-5, "1.2345e-05"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            // Two shortest candidates equally near: dtoa picks the even one.
            (264310078315752.625, "264310078315752.62"),
            (-1340881549302487.25, "-1340881549302487.2"),
            (3774306465813.53125, "3774306465813.5312"),
            (131112559132079.125, "131112559132079.12"),
            (131112559132079.375, "131112559132079.38"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(x, expected) in cases {
            assert_eq!(python_float_repr(x), expected, "repr of {x:e}");
        }
        assert_eq!(json_float(f64::INFINITY), "Infinity");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(-f64::NAN), "NaN");
        assert_eq!(json_float(0.5), "0.5");
    }

    #[test]
    fn round_matches_python() {
        let cases: &[(f64, i32, f64)] = &[
            (2.675, 2, 2.67),
            (0.03125, 4, 0.0312),
            (-0.03125, 4, -0.0312),
            (0.09375, 4, 0.0938),
            (0.15625, 4, 0.1562),
            (0.00005, 4, 0.0001), // binary value is just above the tie
            (-0.00005, 4, -0.0001),
            (0.5, 0, 0.0),
            (1.5, 0, 2.0),
            (2.5, 0, 2.0),
            (-2.5, 0, -2.0),
            (15.0, -1, 20.0),
            (25.0, -1, 20.0),
            (1.23456789, 4, 1.2346),
            (-1.23456789, 4, -1.2346),
            (0.00015, 4, 0.0001), // really 0.000149999...
            (2.00005, 4, 2.0),    // really 2.0000499999...
            (0.00025, 4, 0.0003), // really 0.000250000...0052
            (0.99995, 4, 1.0),
            (9.99995, 4, 10.0),
            (1e300, 4, 1e300),
            (1.2345678901234567e20, 4, 1.2345678901234567e20),
            (4503599627370495.5, 4, 4503599627370495.5),
            (4503599627370495.5, 0, 4503599627370496.0),
            (5e-324, 4, 0.0),
            (123.0, 4, 123.0),
            (1.7976931348623157e308, 4, 1.7976931348623157e308),
            (0.1, 400, 0.1),
            (123.0, -400, 0.0),
        ];
        for &(x, n, expected) in cases {
            let got = python_round(x, n);
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "round({x:e}, {n}) = {got:e}"
            );
        }
        // Sign of zero survives, as in CPython.
        assert!(python_round(-0.00001, 4).is_sign_negative());
        assert_eq!(python_round(-0.00001, 4), 0.0);
        assert!(python_round(-0.0, 4).is_sign_negative());
        assert!(python_round(-123.0, -400).is_sign_negative());
        assert_eq!(python_round(f64::INFINITY, 4), f64::INFINITY);
        assert_eq!(python_round(f64::NEG_INFINITY, 4), f64::NEG_INFINITY);
        assert!(python_round(f64::NAN, 4).is_nan());
    }

    /// Independent oracle for `ndigits = 4`: x = m * 2^e, so x * 10^4 is the
    /// exact rational m * 10^4 / 2^-e, small enough for u128.
    fn round4_oracle(x: f64) -> f64 {
        if !x.is_finite() {
            return x;
        }
        let bits = x.abs().to_bits();
        let biased = (bits >> 52) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        if e >= 0 {
            return x; // already an integer
        }
        let k = (-e) as u32;
        let num = u128::from(m) * 10_000;
        let n = if k >= 100 {
            0 // num < 2^67, so the value is far below one half
        } else {
            let q = num >> k;
            let r = num & ((1u128 << k) - 1);
            let half = 1u128 << (k - 1);
            if r > half || (r == half && q % 2 == 1) {
                q + 1
            } else {
                q
            }
        };
        format!("{n}e-4").parse::<f64>().unwrap().copysign(x)
    }

    #[test]
    fn round4_agrees_with_exact_oracle_and_std_format() {
        // Deterministic xorshift so the sample is reproducible.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut samples: Vec<f64> = Vec::new();
        for _ in 0..20_000 {
            samples.push(f64::from_bits(next())); // any bit pattern
        }
        for _ in 0..20_000 {
            // Values near 4-decimal ties, where the rounding mode matters.
            let n = (next() % 2_000_000) as f64;
            samples.push((n + 0.5) / 10_000.0);
            samples.push(-(n + 0.5) / 10_000.0);
        }
        for i in 0..4096u64 {
            samples.push((2 * i + 1) as f64 / 32.0); // exact ties
        }
        for x in samples.into_iter().filter(|x| x.is_finite()) {
            let got = python_round(x, 4);
            assert_eq!(got.to_bits(), round4_oracle(x).to_bits(), "round({x:e}, 4)");
            let via_std = format!("{x:.4}").parse::<f64>().unwrap();
            assert_eq!(got.to_bits(), via_std.to_bits(), "std format of {x:e}");
        }
    }

    #[test]
    fn escapes_match_python() {
        let mut out = String::new();
        write_json_str(
            &mut out,
            "a\"b\\c\n\r\t\u{8}\u{c}\u{0}\u{1f} ~\u{7f}\u{80}é\u{2028}\u{ffff}\u{1F600}\u{10ffff}/",
        );
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u001f ~\\u007f\\u0080\\u00e9\\u2028\\uffff\\ud83d\\ude00\\udbff\\udfff/\""
        );
        // Keys are escaped the same way and sorted by code point.
        let v = py(r#"{"é":1,"z":2,"\u007f":3,"A":4,"😀":5,"\uffff":6}"#);
        assert_eq!(
            v.dumps(),
            r#"{"A":4,"z":2,"\u007f":3,"\u00e9":1,"\uffff":6,"\ud83d\ude00":5}"#
        );
    }

    #[test]
    fn ints_are_exact_and_floats_follow_literal_shape() {
        let big = "123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(py(big).dumps(), big);
        assert_eq!(py(&format!("-{big}")).dumps(), format!("-{big}"));
        assert_eq!(py("18446744073709551616").dumps(), "18446744073709551616");
        assert_eq!(py("-9223372036854775809").dumps(), "-9223372036854775809");
        assert_eq!(py("-0").dumps(), "0");
        assert_eq!(py("-0"), PyValue::Int("0".into()));
        assert_eq!(py("-0.0").dumps(), "-0.0");
        assert_eq!(py("1E5").dumps(), "100000.0");
        assert_eq!(py("1e400").dumps(), "Infinity");
        assert_eq!(py("-1e400").dumps(), "-Infinity");
        assert_eq!(py("1.0").dumps(), "1.0");
        assert_eq!(
            py("10000000000000000000000").dumps(),
            "10000000000000000000000"
        );
        assert_eq!(py("1e22").dumps(), "1e+22");

        let limit = "7".repeat(PY_INT_MAX_STR_DIGITS);
        assert_eq!(py(&limit).dumps(), limit);
        assert_eq!(py(&format!("-{limit}")).dumps(), format!("-{limit}"));
        let over = "7".repeat(PY_INT_MAX_STR_DIGITS + 1);
        let value: Value = serde_json::from_str(&over).unwrap();
        assert_eq!(
            PyValue::from_json(&value),
            Err(PyJsonError::IntTooLong { digits: 4301 })
        );
        let nested: Value = serde_json::from_str(&format!("{{\"a\":[1,-{over}]}}")).unwrap();
        assert!(dumps(&nested).is_err());
    }

    #[test]
    fn truthiness_matches_python() {
        for falsy in [
            "null", "false", "0", "-0", "0.0", "-0.0", "0e10", "1e-400", "\"\"", "[]", "{}",
        ] {
            assert!(!py(falsy).is_truthy(), "{falsy} should be falsy");
        }
        for truthy in [
            "true",
            "1",
            "-1",
            "0.1",
            "1e400",
            "\" \"",
            "[null]",
            "{\"a\":null}",
        ] {
            assert!(py(truthy).is_truthy(), "{truthy} should be truthy");
        }
        assert!(PyValue::Float(f64::NAN).is_truthy());
    }

    #[test]
    fn dumps_layout() {
        let v = py(r#"{"b":[1,2.5,true,false,null,{"y":1,"x":[]}],"a":"s","c":{}}"#);
        assert_eq!(
            v.dumps(),
            r#"{"a":"s","b":[1,2.5,true,false,null,{"x":[],"y":1}],"c":{}}"#
        );
        let rounded = v.round_floats(0);
        assert_eq!(
            rounded.dumps(),
            r#"{"a":"s","b":[1,2.0,true,false,null,{"x":[],"y":1}],"c":{}}"#
        );
    }

    #[test]
    fn depth_is_bounded() {
        let mut v = Value::Null;
        for _ in 0..(MAX_DEPTH + 5) {
            v = Value::Array(vec![v]);
        }
        assert_eq!(PyValue::from_json(&v), Err(PyJsonError::TooDeep));
    }
}
