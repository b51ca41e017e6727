//! The outbox: with SMTP disabled, each message is written to a directory as an `.eml` file
//! holding exactly the bytes SMTP would have carried, so it can be opened in any mail client.
//!
//! Files are named `<UTC YYYYMMDD-HHMMSS.mmm>-<first recipient>.eml`, so a listing reads in
//! sending order; a second message in the same millisecond gets a `-2`, `-3`, ... suffix
//! instead of overwriting the first.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::MailError;

/// How many suffixed names to try before giving up on a crowded millisecond.
const MAX_ATTEMPTS: usize = 1000;

/// Writes `email` into `dir` (created when missing); returns the new file's path.
pub(super) async fn write(
    dir: &Path,
    email: &lettre::Message,
    recipient: &str,
) -> Result<PathBuf, MailError> {
    let stem = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S%.3f"),
        sanitize(recipient)
    );
    let (dir, bytes) = (dir.to_path_buf(), email.formatted());
    tokio::task::spawn_blocking(move || write_new(&dir, &stem, &bytes))
        .await
        .map_err(|e| MailError(format!("failed to write to the outbox: {e}")))?
        .map_err(|e| MailError(format!("failed to write to the outbox: {e}")))
}

/// Writes `bytes` to the first free name among `<stem>.eml`, `<stem>-2.eml`, ...; `create_new`
/// makes the check and the creation one step, so concurrent writers never share a file.
fn write_new(dir: &Path, stem: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for attempt in 1..=MAX_ATTEMPTS {
        let path = match attempt {
            1 => dir.join(format!("{stem}.eml")),
            n => dir.join(format!("{stem}-{n}.eml")),
        };
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(bytes)?;
                return Ok(path);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        format!("too many messages named {stem}"),
    ))
}

/// `email` reduced to `[A-Za-z0-9@._-]` (anything else becomes `_`), safe in a file name.
fn sanitize(email: &str) -> String {
    email
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '@' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{Address, Delivery, Message, Transport, send};

    fn message(to: &str) -> Message {
        Message {
            from: Address::new("app@example.com"),
            to: vec![Address::new(to)],
            subject: "Hi".into(),
            html: "<p>Hello = world</p>".into(),
            text: String::new(),
        }
    }

    #[test]
    fn sanitizes_recipients() {
        assert_eq!(sanitize("a.b+c@x-y.z"), "a.b_c@x-y.z");
        assert_eq!(sanitize("../é/"), "..___");
    }

    #[tokio::test]
    async fn writes_one_file_per_message_without_overwriting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = Transport::Outbox(dir.path().join("nested/outbox"));
        let mut paths = Vec::new();
        for _ in 0..5 {
            match send(&outbox, &message("o'neil@example.com")).await {
                Ok(Delivery::Written(path)) => paths.push(path),
                other => panic!("unexpected {other:?}"),
            }
        }
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 5);
        for path in &paths {
            let name = path.file_name().and_then(|n| n.to_str()).expect("name");
            assert!(name.contains("-o_neil@example.com"), "{name}");
            assert!(name.ends_with(".eml"), "{name}");
            let raw = std::fs::read_to_string(path).expect("readable");
            assert!(raw.contains("\r\nTo: "), "{raw}");
            assert!(raw.contains("Subject: Hi\r\n"));
        }
    }

    #[tokio::test]
    async fn unwritable_outbox_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").expect("write");
        let result = send(&Transport::Outbox(file), &message("a@example.com")).await;
        assert!(result.is_err());
    }
}
