//! Open documents: versioned text with a line index and column conversions for the negotiated
//! position encoding.

use tower_lsp_server::ls_types::PositionEncodingKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    /// Picks UTF-8 when offered (cheapest), else UTF-32, else the protocol's default UTF-16.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    /// The length of `text` in this encoding's code units.
    pub fn len(self, text: &str) -> u32 {
        match self {
            Encoding::Utf8 => text.len() as u32,
            Encoding::Utf16 => text.encode_utf16().count() as u32,
            Encoding::Utf32 => text.chars().count() as u32,
        }
    }
}

/// An open document's text at one version.
#[derive(Debug)]
pub struct Document {
    pub version: i32,
    pub language_id: String,
    pub text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl Document {
    pub fn new(version: i32, language_id: String, text: String) -> Document {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(idx, _)| idx + 1));
        if line_starts.len() > 1 && *line_starts.last().unwrap() == text.len() {
            line_starts.pop();
        }
        Document { version, language_id, text, line_starts }
    }

    pub fn n_lines(&self) -> u32 {
        self.line_starts.len() as u32
    }

    /// The text of 0-based line `line`, without its line ending.
    pub fn line(&self, line: u32) -> Option<&str> {
        let start = *self.line_starts.get(line as usize)?;
        let end = self.line_starts.get(line as usize + 1).copied().unwrap_or(self.text.len());
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }

    pub fn is_python(&self) -> bool {
        self.language_id == "python"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_encoded_lengths() {
        let doc = Document::new(1, "python".into(), "a = 1\r\ns = \"é😀\"\n\nlast".into());
        assert_eq!(doc.n_lines(), 4);
        assert_eq!(doc.line(0), Some("a = 1"));
        assert_eq!(doc.line(2), Some(""));
        assert_eq!(doc.line(3), Some("last"));
        assert_eq!(doc.line(4), None);
        let line = doc.line(1).unwrap();
        assert_eq!((Encoding::Utf8.len(line), Encoding::Utf16.len(line), Encoding::Utf32.len(line)), (12, 9, 8));
    }

    #[test]
    fn a_trailing_newline_does_not_add_a_line() {
        assert_eq!(Document::new(1, "python".into(), "a\nb\n".into()).n_lines(), 2);
        assert_eq!(Document::new(1, "python".into(), String::new()).n_lines(), 1);
    }

    #[test]
    fn negotiation_prefers_utf8_then_utf32() {
        use PositionEncodingKind as K;
        assert_eq!(Encoding::negotiate(Some(&[K::UTF16, K::UTF8])), Encoding::Utf8);
        assert_eq!(Encoding::negotiate(Some(&[K::UTF32, K::UTF16])), Encoding::Utf32);
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
    }
}
