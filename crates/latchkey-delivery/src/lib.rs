//! Delivery of codes and notices by email.
//!
//! The flows never talk to a mail server themselves. They build an [`Envelope`] (often with a
//! template from [`notices`]) and hand it to the [`Outbox`], which seals it into the store; an
//! [`OutboxWorker`] later opens it and passes it to an [`EmailTransport`] ([`SmtpMailer`] in
//! production, [`DropFolderMailer`] for the demo), retrying with backoff when the server is slow
//! or down. A confirmation is therefore never lost to a failed mail server, and a code never sits
//! in the database in clear.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod drop_folder;
mod envelope;
pub mod notices;
mod outbox;
mod smtp;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use drop_folder::DropFolderMailer;
pub use envelope::{EmailTransport, Envelope, SendError};
pub use outbox::{EMAIL_CHANNEL, Outbox, OutboxWorker, RetryPolicy};
pub use smtp::{SmtpMailer, SmtpSettings, TlsMode};

use latchkey_store::StoreError;

/// What can go wrong while setting up delivery or queueing a message. Failures of a single send
/// are [`SendError`]s and are handled by the outbox, not returned to the caller.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed while queueing or updating a message.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mail settings are unusable (a malformed sender address, an unknown TLS host, a drop
    /// folder that cannot be created).
    #[error("mail configuration: {0}")]
    Config(String),
    /// A message could not be serialised for the outbox.
    #[error("message could not be encoded: {0}")]
    Encode(String),
}
