//! The matching form of a text, and the character classes the word-boundary rule uses.
//!
//! Text and aliases go through the same pipeline, character by character, so that a brand written
//! in any of the ways people (and models) write it compares equal to its alias:
//!
//! - **Compatibility decomposition (NFKD)**: full-width `ＡＶＥＡ`, ligatures (`ﬁ`), half-width
//!   katakana and the like become their plain forms. Decomposing (rather than composing, as NFKC
//!   does) finds the same equalities because both sides are decomposed, and it lets the next step
//!   see accents as separate marks. It is done per character, which is what keeps a map from every
//!   output byte back to the original character.
//! - **Accents are optional**: the combining marks of the Latin, Greek and Cyrillic diacritic
//!   blocks (and Hebrew points, Arabic harakat) are dropped, so `Nestle` finds `Nestlé` and the
//!   other way round, `Αθηνα` finds `Αθήνα`. Marks outside those blocks (the Japanese voicing marks,
//!   Indic vowel signs) carry meaning and are kept. Cyrillic `й` becomes `и` and `ё` becomes `е`,
//!   a price paid for the same rule.
//! - **Case folding** (case-insensitive aliases only): `char::to_lowercase`, plus `ß`/`ẞ` → `ss`
//!   (so `Strasse` finds `Straße`) and final `ς` → `σ`, the two folds that lower-casing misses and
//!   that matter in practice. Case-sensitive aliases are checked after the fact on the same
//!   pipeline without the lower-casing (see `mentions`).
//! - **Apostrophes**: `’`, `‘`, `ʼ` and `´` become `'`; the hyphen look-alikes U+2010/U+2011 become
//!   `-`. Models emit the typographic forms, people type the ASCII ones.
//! - **Whitespace**: any run of white space (line breaks, tabs, no-break spaces, U+200B) is one
//!   space, so a multi-word name broken over two lines still matches. A hyphen is *not* a space:
//!   `Swiss-Nutrition` does not match `Swiss Nutrition` (brands that are written both ways list both
//!   as aliases).
//! - **Invisible characters** (ZWJ, ZWNJ, word joiner, BOM, soft hyphen, variation selectors) are
//!   dropped: they do not change what a reader sees.
//! - **Control characters** and masked spans (URLs, e-mail addresses) become a single
//!   [`SEPARATOR`], which no alias contains and which is not a word character, so nothing matches
//!   across or inside them.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Stands for a masked span or a control character in the matching form.
pub(crate) const SEPARATOR: char = '\0';

/// Whether letters are folded to lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Fold,
    Keep,
}

/// A text in matching form, with the way back to the original.
#[derive(Debug, Default)]
pub(crate) struct Normalised {
    pub text: String,
    /// For every byte of `text`, the index (in chars) of the original character it came from.
    pub origin: Vec<u32>,
}

impl Normalised {
    /// The matching form of `chars`, where characters with `mask[i]` set are replaced by one
    /// [`SEPARATOR`] per run.
    pub fn of_text(chars: &[char], mask: &[bool], case: Case) -> Self {
        let mut sink = Sink::new(case, chars.len() + 8, true);
        for (i, &c) in chars.iter().enumerate() {
            // At most u32::MAX chars are analysed; the matcher truncates longer texts.
            let idx = i as u32;
            if mask.get(i).copied().unwrap_or(false) {
                sink.separator(idx);
            } else {
                sink.push_char(c, idx);
            }
        }
        Normalised {
            text: sink.out,
            origin: sink.origin,
        }
    }

    /// Whether the byte range `[start, end)` begins and ends on whole original characters (a
    /// match must not end inside the `ss` of a `ß` or inside a Hangul syllable's jamo).
    pub fn aligned(&self, start: usize, end: usize) -> bool {
        let o = &self.origin;
        let start_ok = start == 0 || o.get(start - 1) != o.get(start);
        let end_ok = end >= o.len() || o.get(end) != o.get(end - 1);
        start_ok && end_ok
    }

    /// The original character range that the byte range `[start, end)` came from.
    pub fn original_range(&self, start: usize, end: usize, total_chars: usize) -> (usize, usize) {
        let a = self.origin.get(start).map_or(total_chars, |&i| i as usize);
        let b = self.origin.get(end).map_or(total_chars, |&i| i as usize);
        (a, b.max(a))
    }
}

/// The matching form of a short string (an alias), trimmed of the surrounding space.
pub(crate) fn normalise_str(s: &str, case: Case) -> String {
    let mut sink = Sink::new(case, s.len(), false);
    for c in s.chars() {
        sink.push_char(c, 0);
    }
    sink.out.trim_matches(' ').to_owned()
}

/// The matching form of `chars` without position tracking (used to check case-sensitive aliases).
pub(crate) fn normalise_chars(chars: &[char], case: Case) -> String {
    let mut sink = Sink::new(case, chars.len(), false);
    for &c in chars {
        sink.push_char(c, 0);
    }
    sink.out.trim_matches(' ').to_owned()
}

struct Sink {
    case: Case,
    out: String,
    origin: Vec<u32>,
    track: bool,
    last: Option<char>,
}

impl Sink {
    fn new(case: Case, capacity: usize, track: bool) -> Self {
        Sink {
            case,
            out: String::with_capacity(capacity),
            origin: Vec::with_capacity(if track { capacity } else { 0 }),
            track,
            last: None,
        }
    }

    fn emit(&mut self, c: char, idx: u32) {
        let c = if c.is_whitespace() { ' ' } else { c };
        if (c == ' ' || c == SEPARATOR) && self.last == Some(c) {
            return;
        }
        self.out.push(c);
        if self.track {
            let len = c.len_utf8();
            self.origin.resize(self.origin.len() + len, idx);
        }
        self.last = Some(c);
    }

    fn separator(&mut self, idx: u32) {
        self.emit(SEPARATOR, idx);
    }

    fn push_char(&mut self, c: char, idx: u32) {
        if c.is_ascii() {
            if c.is_ascii_graphic() {
                // The common case, without the general path's checks.
                let c = match self.case {
                    Case::Fold => c.to_ascii_lowercase(),
                    Case::Keep => c,
                };
                self.out.push(c);
                if self.track {
                    self.origin.push(idx);
                }
                self.last = Some(c);
            } else if c.is_whitespace() {
                self.emit(' ', idx);
            } else {
                self.separator(idx);
            }
            return;
        }
        match c {
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' => self.emit('\'', idx),
            '\u{2010}' | '\u{2011}' => self.emit('-', idx),
            '\u{200B}' => self.emit(' ', idx),
            '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
            '\u{FE00}'..='\u{FE0F}' => {}
            c if c.is_control() => self.separator(idx),
            c => decompose_compatible(c, |d| self.push_decomposed(d, idx)),
        }
    }

    fn push_decomposed(&mut self, d: char, idx: u32) {
        if is_optional_mark(d) {
            return;
        }
        match (self.case, d) {
            (_, 'ß') => {
                self.emit('s', idx);
                self.emit('s', idx);
            }
            (Case::Keep, 'ẞ') => {
                self.emit('S', idx);
                self.emit('S', idx);
            }
            (_, 'ς') => self.emit('σ', idx),
            (Case::Keep, d) => self.emit(d, idx),
            (Case::Fold, d) => {
                for l in d.to_lowercase() {
                    match l {
                        'ß' => {
                            self.emit('s', idx);
                            self.emit('s', idx);
                        }
                        'ς' => self.emit('σ', idx),
                        l if is_optional_mark(l) => {}
                        l => self.emit(l, idx),
                    }
                }
            }
        }
    }
}

/// Combining marks that only add accents: dropped so that accents are optional.
fn is_optional_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'   // Combining Diacritical Marks (Latin, Greek, Cyrillic)
        | '\u{0483}'..='\u{0489}' // Cyrillic combining marks
        | '\u{0591}'..='\u{05BD}' // Hebrew accents and points
        | '\u{064B}'..='\u{065F}' // Arabic harakat
        | '\u{1AB0}'..='\u{1AFF}' // Combining Diacritical Marks Extended
        | '\u{1DC0}'..='\u{1DFF}' // Combining Diacritical Marks Supplement
        | '\u{20D0}'..='\u{20FF}' // Combining Diacritical Marks for Symbols
        | '\u{FE20}'..='\u{FE2F}' // Combining Half Marks
    )
}

/// Scripts written without spaces between words (CJK, Hangul, Thai, Lao, Khmer, Myanmar): inside
/// them a word boundary cannot be seen, so no boundary is required next to their characters.
pub(crate) fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}'     // Thai, Lao
        | '\u{1000}'..='\u{109F}'   // Myanmar
        | '\u{1100}'..='\u{11FF}'   // Hangul Jamo
        | '\u{1780}'..='\u{17FF}'   // Khmer
        | '\u{2E80}'..='\u{2FDF}'   // CJK radicals, Kangxi radicals
        | '\u{3005}'..='\u{3007}'   // 々 〆 〇
        | '\u{3021}'..='\u{3029}'   // Hangzhou numerals
        | '\u{3031}'..='\u{3035}'   // kana repeat marks
        | '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{3100}'..='\u{31FF}'   // Bopomofo, Hangul compatibility jamo, Katakana extension
        | '\u{3400}'..='\u{4DBF}'   // CJK Extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
        | '\u{A960}'..='\u{A97F}'   // Hangul Jamo Extended-A
        | '\u{AC00}'..='\u{D7FF}'   // Hangul syllables, Jamo Extended-B
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}'   // half-width katakana
        | '\u{20000}'..='\u{3FFFF}' // CJK Extensions B and later
    )
}

/// A letter or digit of a space-separated script: two of these side by side are one word.
pub(crate) fn is_spaced_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() && !is_unspaced_script(c)
}

/// A character that continues the one before it rather than starting a new one: a kept combining
/// mark (`が` decomposed, an Indic vowel sign) or a Hangul vowel or final jamo. A match may not end
/// right before one, whether the text came composed or decomposed.
pub(crate) fn continues_previous(c: char) -> bool {
    matches!(c, '\u{1160}'..='\u{11FF}' | '\u{D7B0}'..='\u{D7FF}') || is_combining_mark(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str) -> String {
        normalise_str(s, Case::Fold)
    }

    #[test]
    fn folds_case_accents_width_and_sharp_s() {
        assert_eq!(fold("Nestlé"), "nestle");
        assert_eq!(fold("Nestle\u{301}"), "nestle");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("STRAẞE"), "strasse");
        assert_eq!(fold("ＡＶＥＡ"), "avea");
        assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("Οδυσσεύς"));
        assert_eq!(fold("AVEA’s"), "avea's");
        assert_eq!(fold("  Swiss \n\t Nutrition "), "swiss nutrition");
        assert_eq!(fold("A\u{200D}B\u{00AD}C"), "abc");
    }

    #[test]
    fn keeps_case_when_asked() {
        assert_eq!(normalise_str("Café Straße", Case::Keep), "Cafe Strasse");
        assert_eq!(normalise_str("ẞ", Case::Keep), "SS");
    }

    #[test]
    fn keeps_meaningful_marks() {
        // が (ka + voicing mark) must not become か.
        assert_ne!(fold("が"), fold("か"));
    }

    #[test]
    fn origin_maps_bytes_to_chars() {
        let chars: Vec<char> = "Aß  é".chars().collect();
        let n = Normalised::of_text(&chars, &[], Case::Fold);
        assert_eq!(n.text, "ass e");
        assert_eq!(n.origin, vec![0, 1, 1, 2, 4]);
        assert!(n.aligned(1, 3));
        assert!(!n.aligned(1, 2));
        assert!(!n.aligned(2, 3));
    }

    #[test]
    fn masked_runs_become_one_separator() {
        let chars: Vec<char> = "ab cd ef".chars().collect();
        let mask = [false, false, false, true, true, false, false, false];
        let n = Normalised::of_text(&chars, &mask, Case::Fold);
        assert_eq!(n.text, "ab \0 ef");
    }

    #[test]
    fn script_classes() {
        assert!(is_unspaced_script('的'));
        assert!(is_unspaced_script('ソ'));
        assert!(is_unspaced_script('삼'));
        assert!(!is_unspaced_script('Ж'));
        assert!(is_spaced_word_char('Ж'));
        assert!(is_spaced_word_char('λ'));
        assert!(!is_spaced_word_char('的'));
        assert!(!is_spaced_word_char('\''));
        assert!(!is_spaced_word_char('_'));
    }
}
