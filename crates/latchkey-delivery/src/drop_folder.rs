//! Writing messages as `.eml` files into a folder, for the demo and for development machines
//! without an SMTP relay.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};

use crate::DeliveryError;
use crate::envelope::{EmailTransport, Envelope, SendError, build_message, parse_from};

/// An [`EmailTransport`] that writes each message to `<uuid>.eml` in a folder; any mail client
/// opens those files.
#[derive(Clone)]
pub struct DropFolderMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    dir: PathBuf,
    from: Mailbox,
}

impl fmt::Debug for DropFolderMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropFolderMailer")
            .field("dir", &self.dir)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl DropFolderMailer {
    /// Creates the folder if needed and checks the sender address.
    pub fn new(dir: PathBuf, from: String) -> Result<Self, DeliveryError> {
        let from = parse_from(&from)?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            DeliveryError::Config(format!("cannot create drop folder {}: {e}", dir.display()))
        })?;
        Ok(Self {
            transport: AsyncFileTransport::new(&dir),
            dir,
            from,
        })
    }

    /// The folder messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl EmailTransport for DropFolderMailer {
    async fn send(&self, envelope: &Envelope) -> Result<(), SendError> {
        let message = build_message(&self.from, envelope)?;
        // A full disk or a permissions slip can be fixed, so the outbox keeps the message.
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError::Transient(format!("writing to the drop folder failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{CapturedMail, extract_code};

    #[tokio::test]
    async fn writes_a_readable_eml_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mail").join("outgoing");
        let mailer =
            DropFolderMailer::new(dir.clone(), "Latchkey <no-reply@contoso.com>".into()).unwrap();
        assert!(dir.is_dir(), "the folder is created");
        mailer
            .send(&Envelope {
                to: "bob@contoso.com".into(),
                subject: "Your Contoso verification code".into(),
                text: "Your code is 031337.".into(),
                html: Some("<p>Your code is 031337.</p>".into()),
            })
            .await
            .unwrap();

        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let mail = CapturedMail {
            from: String::new(),
            to: Vec::new(),
            data: std::fs::read_to_string(&files[0]).unwrap(),
        };
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("Your Contoso verification code")
        );
        assert!(mail.header("To").unwrap().contains("bob@contoso.com"));
        assert!(mail.header("From").unwrap().contains("Latchkey"));
        assert_eq!(extract_code(&mail.body_text()).as_deref(), Some("031337"));
    }

    #[test]
    fn a_bad_sender_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            DropFolderMailer::new(tmp.path().to_path_buf(), "@@".into()),
            Err(DeliveryError::Config(_))
        ));
    }
}
