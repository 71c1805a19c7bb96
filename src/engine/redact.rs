//! Secrets that must never reach a log (the MCP endpoint's bearer token): registered once, replaced by
//! `[redacted]` in every log line the binary writes, whatever the level or the library that logs it
//! (the LSP transport traces whole messages, and one of them carries the token).

use std::borrow::Cow;
use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// From now on, `text` never appears in logs.
pub fn register(secret: &str) {
    if secret.len() >= 8 {
        SECRETS.write().unwrap_or_else(|poison| poison.into_inner()).push(secret.to_string());
    }
}

/// `text` with every registered secret replaced.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|poison| poison.into_inner());
    if !secrets.iter().any(|secret| text.contains(secret.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut redacted = text.to_string();
    for secret in secrets.iter() {
        redacted = redacted.replace(secret.as_str(), "[redacted]");
    }
    Cow::Owned(redacted)
}

/// A log writer that holds one event's text and writes it to stderr redacted, in one piece.
#[derive(Default)]
pub struct RedactingStderr {
    buffer: Vec<u8>,
}

impl std::io::Write for RedactingStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        use std::io::Write;
        let text = String::from_utf8_lossy(&self.buffer);
        let _ = std::io::stderr().lock().write_all(redact(&text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_replaced_in_every_write() {
        register("s3cr3t-token-value");
        assert_eq!(redact("Bearer s3cr3t-token-value and again s3cr3t-token-value"), "Bearer [redacted] and again [redacted]");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }
}
