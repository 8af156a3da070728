//! The message handed to a transport, the transport trait, and how an envelope becomes a MIME
//! message.

use std::fmt;

use async_trait::async_trait;
use latchkey_core::mask;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

/// One email to send: recipient, subject and body. It is serialised (then sealed) into the
/// outbox, which is why it derives serde; its bodies may hold a code, so `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The recipient's address, bare (`alice@contoso.com`) or as a mailbox
    /// (`Alice <alice@contoso.com>`).
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body; always sent.
    pub text: String,
    /// An HTML alternative; when present the message is `multipart/alternative`.
    pub html: Option<String>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies carry codes, and the address is contact data: neither belongs in a log.
        f.debug_struct("Envelope")
            .field("to", &mask::email(&self.to))
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .field("html", &self.html.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Why a send failed, and so whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Trying again later may work: the server refused the connection, timed out, or answered
    /// with a 4xx reply. The text never holds the message body.
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Trying again will not help: the server answered with a 5xx reply, or the address or the
    /// message is invalid. The text never holds the message body.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Something that can send an [`Envelope`]: an SMTP relay, a drop folder, a test double.
#[async_trait]
pub trait EmailTransport: Send + Sync + fmt::Debug {
    /// Sends one message; `Ok` means the server (or folder) accepted it.
    async fn send(&self, envelope: &Envelope) -> Result<(), SendError>;
}

/// Builds the MIME message for `envelope` from `from`: plain text alone, or
/// `multipart/alternative` with the HTML part last (the part clients prefer), with a fresh
/// Message-ID; lettre adds the Date.
pub(crate) fn build_message(from: &Mailbox, envelope: &Envelope) -> Result<Message, SendError> {
    let to: Mailbox = envelope.to.trim().parse().map_err(|_| {
        SendError::Permanent(format!(
            "invalid recipient address {}",
            mask::email(&envelope.to)
        ))
    })?;
    // A line break in a subject would let a caller forge headers; a space reads the same.
    let subject: String = envelope
        .subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(None);
    let built = match &envelope.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            envelope.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(envelope.text.clone()),
        ),
    };
    built.map_err(|e| SendError::Permanent(format!("message could not be built: {e}")))
}

/// Parses the configured sender, so that a typo fails at start-up rather than at the first send.
pub(crate) fn parse_from(from: &str) -> Result<Mailbox, crate::DeliveryError> {
    from.trim()
        .parse()
        .map_err(|e| crate::DeliveryError::Config(format!("invalid sender address {from:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            to: "alice@contoso.com".into(),
            subject: "Hello\r\nBcc: mallory@evil.example".into(),
            text: "code 123456".into(),
            html: Some("<b>123456</b>".into()),
        }
    }

    #[test]
    fn debug_redacts_bodies_and_address() {
        let text = format!("{:?}", envelope());
        assert!(!text.contains("123456"), "{text}");
        assert!(!text.contains("alice@"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let from = parse_from("Latchkey <no-reply@contoso.com>").unwrap();
        let raw =
            String::from_utf8(build_message(&from, &envelope()).unwrap().formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(raw.contains("Date: "), "{raw}");
    }

    #[test]
    fn bad_addresses() {
        assert!(parse_from("not an address").is_err());
        let from = parse_from("no-reply@contoso.com").unwrap();
        let mut e = envelope();
        e.to = "nobody".into();
        assert!(matches!(
            build_message(&from, &e),
            Err(SendError::Permanent(_))
        ));
    }
}
