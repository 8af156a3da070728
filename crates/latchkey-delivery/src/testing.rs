//! Test helpers: an in-process SMTP server that keeps what it receives, and a way to pull the
//! code back out of a message. Built for tests and under the `testing` feature, never in a
//! release of the service.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Refuse messages bigger than this, so a runaway client cannot eat the test's memory.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// One message as the capture server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The raw message (headers and body) after dot-unstuffing, lines ending in CRLF.
    pub data: String,
}

impl CapturedMail {
    /// The first header called `name` (case-insensitive), unfolded; raw, so encoded words stay
    /// encoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_entity(&self.data);
        header(&headers, name)
    }

    /// The plain-text parts decoded from quoted-printable or base64 and joined; the HTML parts
    /// when there is no plain text.
    pub fn body_text(&self) -> String {
        let mut parts = Vec::new();
        text_parts(&self.data, &mut parts);
        let plain: Vec<&str> = parts
            .iter()
            .filter(|(html, _)| !html)
            .map(|(_, t)| t.as_str())
            .collect();
        if plain.is_empty() {
            parts
                .iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            plain.join("\n")
        }
    }

    /// The decoded HTML part, if there is one.
    pub fn html_text(&self) -> Option<String> {
        let mut parts = Vec::new();
        text_parts(&self.data, &mut parts);
        parts.into_iter().find(|(html, _)| *html).map(|(_, t)| t)
    }
}

/// The first standalone 6-digit number in `text` (not part of a longer word or number).
pub fn extract_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let word = &text[start..i];
        if word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()) {
            return Some(word.to_owned());
        }
    }
    None
}

#[derive(Debug, Default)]
struct Shared {
    messages: Mutex<Vec<CapturedMail>>,
    failing: Mutex<Option<String>>,
    arrived: Notify,
}

/// A minimal SMTP server on `127.0.0.1` and a free port: no TLS, no AUTH, accepts every message
/// unless told to refuse. It stops when dropped.
pub struct SmtpCapture {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl fmt::Debug for SmtpCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCapture")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a test thread panicked; the data is still fine to read.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SmtpCapture {
    /// Binds a free port and starts accepting connections.
    pub async fn start() -> std::io::Result<SmtpCapture> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&accept_shared);
                tokio::spawn(async move {
                    // A client hanging up mid-session is not the test's concern.
                    let _ = session(stream, &shared).await;
                });
            }
        });
        Ok(SmtpCapture { port, shared, task })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<CapturedMail> {
        lock(&self.shared.messages).clone()
    }

    /// Waits until a message matching `predicate` has arrived (or had already), at most `timeout`.
    pub async fn wait_for(
        &self,
        predicate: impl Fn(&CapturedMail) -> bool,
        timeout: Duration,
    ) -> Option<CapturedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a message landing in between still wakes us.
            let notified = self.shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = lock(&self.shared.messages).iter().find(|m| predicate(m)) {
                return Some(found.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// With `Some(reply)`, answers every `MAIL FROM` with that reply (for example
    /// `"451 4.3.0 try later"` or `"550 5.7.1 denied"`); with `None`, accepts mail again.
    pub fn set_failing(&self, reply: Option<&str>) {
        *lock(&self.shared.failing) = reply.map(str::to_owned);
    }
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write
        .write_all(b"220 latchkey-capture ESMTP ready\r\n")
        .await?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-latchkey-capture greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760".into(),
            "HELO" => "250 latchkey-capture".into(),
            "MAIL" => match lock(&shared.failing).clone() {
                Some(refusal) => refusal,
                None => {
                    from = Some(path_of(command));
                    to.clear();
                    "250 2.1.0 OK".into()
                }
            },
            "RCPT" if from.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => {
                to.push(path_of(command));
                "250 2.1.5 OK".into()
            }
            "DATA" if to.is_empty() => "503 5.5.1 RCPT first".into(),
            "DATA" => {
                write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
                let data = read_data(&mut reader).await?;
                match data {
                    Some(data) => {
                        let mail = CapturedMail {
                            from: from.take().unwrap_or_default(),
                            to: std::mem::take(&mut to),
                            data,
                        };
                        lock(&shared.messages).push(mail);
                        shared.arrived.notify_waiters();
                        "250 2.0.0 queued".into()
                    }
                    None => "552 5.3.4 message too big".into(),
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not recognised".into(),
        };
        // One write per reply: split writes meet Nagle and delayed ACKs and cost 40 ms each.
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// Reads message lines up to the lone dot, undoing dot-stuffing; `None` when it is too big (the
/// rest is still read so the session stays in step).
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut data = String::new();
    let mut too_big = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok((!too_big).then_some(data));
        }
        let unstuffed = line.strip_prefix('.').unwrap_or(&line);
        if data.len() + unstuffed.len() > MAX_MESSAGE_BYTES {
            too_big = true;
        } else if !too_big {
            data.push_str(unstuffed);
        }
    }
}

/// The address inside `<...>` of a `MAIL FROM:` or `RCPT TO:` line.
fn path_of(command: &str) -> String {
    let after = command.split_once(':').map_or(command, |(_, rest)| rest);
    match (after.find('<'), after.find('>')) {
        (Some(open), Some(close)) if open < close => after[open + 1..close].to_owned(),
        _ => after.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

/// Headers (unfolded, one per entry) and the body of a MIME entity.
fn split_entity(entity: &str) -> (Vec<String>, &str) {
    let (head, body) = match entity.find("\r\n\r\n") {
        Some(i) => (&entity[..i], &entity[i + 4..]),
        None => match entity.find("\n\n") {
            Some(i) => (&entity[..i], &entity[i + 2..]),
            None => (entity, ""),
        },
    };
    let mut headers: Vec<String> = Vec::new();
    for line in head.lines() {
        match headers.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => headers.push(line.to_owned()),
        }
    }
    (headers, body)
}

fn header(headers: &[String], name: &str) -> Option<String> {
    headers.iter().find_map(|h| {
        let (n, v) = h.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// A parameter of a structured header value, such as `boundary` of a Content-Type.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Collects the decoded text parts of an entity as (is HTML, text), depth first.
fn text_parts(entity: &str, out: &mut Vec<(bool, String)>) {
    let (headers, body) = split_entity(entity);
    let content_type = header(&headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let kind = content_type.to_ascii_lowercase();
    if kind.starts_with("multipart/") {
        if let Some(boundary) = parameter(&content_type, "boundary") {
            for part in split_multipart(body, &boundary) {
                text_parts(&part, out);
            }
        }
    } else if kind.starts_with("text/") {
        let encoding = header(&headers, "Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = match encoding.trim() {
            "quoted-printable" => {
                String::from_utf8_lossy(&decode_quoted_printable(body)).into_owned()
            }
            "base64" => String::from_utf8_lossy(&decode_base64(body)).into_owned(),
            _ => body.to_owned(),
        };
        out.push((kind.starts_with("text/html"), text));
    }
}

fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.split("\r\n") {
        if line.trim_end() == delimiter || line.trim_end() == format!("{delimiter}--") {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\r\n"));
            }
            if line.trim_end() != delimiter {
                break;
            }
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    parts
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => out.push(b),
                    None => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn decode_base64(body: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_only_when_standalone() {
        assert_eq!(
            extract_code("Your code is 123456.").as_deref(),
            Some("123456")
        );
        assert_eq!(
            extract_code("ref 1234567 then 654321").as_deref(),
            Some("654321")
        );
        assert_eq!(extract_code("id ab123456 x"), None);
        assert_eq!(extract_code("12345"), None);
        assert_eq!(
            extract_code("code:\r\n  000042\r\n").as_deref(),
            Some("000042")
        );
    }

    #[test]
    fn decoders() {
        assert_eq!(decode_base64("SGVsbG8sIDEyMzQ1Ng=="), b"Hello, 123456");
        assert_eq!(decode_base64("SGVs\r\nbG8="), b"Hello");
        assert_eq!(
            decode_quoted_printable("caf=C3=A9 =\r\nau lait=3D"),
            "café au lait=".as_bytes()
        );
        assert_eq!(path_of("MAIL FROM:<a@b.c> BODY=8BITMIME"), "a@b.c");
        assert_eq!(path_of("RCPT TO: <x@y.z>"), "x@y.z");
    }

    #[test]
    fn multipart_bodies_are_decoded() {
        let mail = CapturedMail {
            from: String::new(),
            to: vec![],
            data: "Subject: hi\r\nContent-Type: multipart/alternative;\r\n boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nWW91ciBjb2RlIGlzIDc3NzExMQ==\r\n--XYZ\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p style=3D\"x\">777111</p>\r\n--XYZ--\r\n".into(),
        };
        assert_eq!(mail.header("subject").as_deref(), Some("hi"));
        assert_eq!(mail.body_text(), "Your code is 777111");
        assert_eq!(
            mail.html_text().as_deref(),
            Some("<p style=\"x\">777111</p>")
        );
    }
}
