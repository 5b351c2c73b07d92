//! Copying to the local clipboard with OSC 52: the terminal (not this
//! machine) takes the text, so it works over SSH. Terminals that do not
//! support it ignore the sequence.

use base64::Engine;

/// The escape sequence that sets the clipboard to `text`.
pub fn sequence(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\u{1b}]52;c;{b64}\u{7}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_the_text() {
        assert_eq!(
            super::sequence("19:a@thread.v2"),
            "\u{1b}]52;c;MTk6YUB0aHJlYWQudjI=\u{7}"
        );
    }
}
