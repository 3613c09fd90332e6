//! Which characters free text (names, addresses, email addresses) may hold.

/// Bidirectional embedding, override and isolate controls. They make text display as something
/// else (Trojan Source, CVE-2021-42574): a name could show as "admin" or an address reverse its
/// domain. The marks (U+200E, U+200F) stay allowed: right-to-left names need them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What no one-line field holds: control characters (terminal escapes, bells, line breaks)
/// and bidi controls.
pub fn is_forbidden_in_line(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// What no multi-line field (an address) holds: as [`is_forbidden_in_line`], but line breaks
/// and tabs are text there.
pub fn is_forbidden_in_text(c: char) -> bool {
    !matches!(c, '\n' | '\r' | '\t') && is_forbidden_in_line(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_controls_are_refused_but_marks_and_scripts_are_text() {
        for c in [
            '\u{202e}', '\u{202a}', '\u{2066}', '\u{2069}', '\u{7}', '\u{1b}', '\n',
        ] {
            assert!(is_forbidden_in_line(c), "{:?}", c);
        }
        for c in [
            'a', 'ü', '中', 'ש', '\u{200f}', '\u{200e}', '\u{301}', '🚗', '\'',
        ] {
            assert!(!is_forbidden_in_line(c), "{:?}", c);
        }
        assert!(!is_forbidden_in_text('\n') && !is_forbidden_in_text('\t'));
        assert!(is_forbidden_in_text('\u{202e}') && is_forbidden_in_text('\u{1b}'));
    }
}
