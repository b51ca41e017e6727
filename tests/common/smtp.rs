//! A tiny SMTP server for tests: it accepts every message on `127.0.0.1:<port>` and hands
//! each one back decoded, so tests can assert on what a real relay would have received.
//!
//! It speaks enough ESMTP for lettre (EHLO/HELO, AUTH PLAIN and LOGIN taking any credentials,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and never offers STARTTLS. The MIME
//! decoding covers what lettre produces: quoted-printable, base64, 7bit/8bit bodies, RFC 2047
//! encoded-word headers, nested multiparts. Decoded bodies have `\n` line breaks (the wire
//! carries `\r\n`), so they compare equal to the strings a test sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use mime::{base64_decode, text_of};

mod mime;

/// A running sink; dropping it stops the server.
pub struct SmtpSink {
    pub port: u16,
    received: Mutex<mpsc::UnboundedReceiver<Mail>>,
    count: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

/// One accepted message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as transmitted (after dot-unstuffing), `\r\n` line breaks.
    pub raw: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// The credentials of a successful AUTH, if any.
    pub auth: Option<Auth>,
}

impl Mail {
    /// The code of an OTP mail (the digits of its `<strong>`).
    pub fn otp_code(&self) -> String {
        let start = self.html.find("<strong>").expect("a code in the mail") + "<strong>".len();
        self.html[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }
}

/// What a client authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// `PLAIN` or `LOGIN`.
    pub mechanism: String,
    pub username: String,
    pub password: String,
}

/// Decodes a raw message, such as an outbox `.eml` file (see [`Mail::parse`]).
pub fn parse_message(raw: &str) -> Mail {
    Mail::parse(raw)
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Starts a sink that accepts every message.
    pub async fn start() -> SmtpSink {
        Self::start_with(false).await
    }

    /// Starts a sink that rejects every message at the end of DATA (`554 rejected`).
    pub async fn start_failing() -> SmtpSink {
        Self::start_with(true).await
    }

    async fn start_with(reject: bool) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let (sender, received) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&count);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                let counter = Arc::clone(&counter);
                sessions.spawn(async move {
                    // A client that hangs up mid-session is not the sink's problem.
                    let _ = session(stream, reject, sender, counter).await;
                });
            }
        });
        SmtpSink {
            port,
            received: Mutex::new(received),
            count,
            task,
        }
    }

    /// The next accepted message, in arrival order; `None` if none arrives within `timeout`.
    pub async fn next(&self, timeout: Duration) -> Option<Mail> {
        let mut received = self.received.lock().await;
        tokio::time::timeout(timeout, received.recv())
            .await
            .ok()
            .flatten()
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// The state of one SMTP transaction.
#[derive(Default)]
struct Envelope {
    helo: String,
    auth: Option<Auth>,
    from: Option<String>,
    to: Vec<String>,
}

async fn session(
    stream: TcpStream,
    reject: bool,
    sender: mpsc::UnboundedSender<Mail>,
    count: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    let mut envelope = Envelope::default();
    writer.write_all(b"220 sink ESMTP ready\r\n").await?;
    while let Some(line) = read_line(&mut lines).await? {
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_string()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        let reply: String = match verb.as_str() {
            "EHLO" => {
                envelope = Envelope {
                    helo: arg,
                    ..Envelope::default()
                };
                "250-sink\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10485760".into()
            }
            "HELO" => {
                envelope = Envelope {
                    helo: arg,
                    ..Envelope::default()
                };
                "250 sink".into()
            }
            "AUTH" => {
                envelope.auth = authenticate(&arg, &mut lines, &mut writer).await?;
                match envelope.auth {
                    Some(_) => "235 2.7.0 Authentication successful".into(),
                    None => "501 5.5.2 malformed AUTH".into(),
                }
            }
            "MAIL" => {
                envelope.from = Some(path_of(&arg));
                envelope.to.clear();
                "250 2.1.0 OK".into()
            }
            "RCPT" if envelope.from.is_some() => {
                envelope.to.push(path_of(&arg));
                "250 2.1.5 OK".into()
            }
            "DATA" if envelope.from.is_some() && !envelope.to.is_empty() => {
                writer
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(raw) = read_data(&mut lines).await? else {
                    return Ok(());
                };
                let from = envelope.from.take().unwrap_or_default();
                let to = std::mem::take(&mut envelope.to);
                if reject {
                    "554 5.7.1 rejected".into()
                } else {
                    let mut mail = Mail::parse(&raw);
                    mail.from = from;
                    mail.to = to;
                    mail.helo = envelope.helo.clone();
                    mail.auth = envelope.auth.clone();
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = sender.send(mail);
                    "250 2.0.0 OK queued".into()
                }
            }
            "RCPT" | "DATA" => "503 5.5.1 bad sequence of commands".into(),
            "RSET" => {
                envelope.from = None;
                envelope.to.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                writer.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

/// One line without its line break; `None` at end of stream.
async fn read_line<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if reader.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The DATA content up to the lone `.`, dot-unstuffed, lines joined with `\r\n`.
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut lines = Vec::new();
    while let Some(line) = read_line(reader).await? {
        if line == "." {
            let mut raw = lines.join("\r\n");
            raw.push_str("\r\n");
            return Ok(Some(raw));
        }
        lines.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
    }
    Ok(None)
}

/// Runs an AUTH exchange (`arg` is what followed `AUTH`); any credentials are accepted.
async fn authenticate<R, W>(
    arg: &str,
    reader: &mut R,
    writer: &mut W,
) -> std::io::Result<Option<Auth>>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((mechanism, initial)) => (mechanism.to_ascii_uppercase(), Some(initial.to_string())),
        None => (arg.to_ascii_uppercase(), None),
    };
    let mut ask = async |prompt: &str| -> std::io::Result<String> {
        writer
            .write_all(format!("334 {prompt}\r\n").as_bytes())
            .await?;
        Ok(read_line(reader).await?.unwrap_or_default())
    };
    let credentials = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(initial) => initial,
                None => ask("").await?,
            };
            let decoded = text_of(&base64_decode(&response));
            let mut parts = decoded.split('\0').skip(1);
            parts
                .next()
                .zip(parts.next())
                .map(|(u, p)| (u.to_string(), p.to_string()))
        }
        "LOGIN" => {
            let username = match initial {
                Some(initial) => initial,
                None => ask("VXNlcm5hbWU6").await?,
            };
            let password = ask("UGFzc3dvcmQ6").await?;
            Some((
                text_of(&base64_decode(&username)),
                text_of(&base64_decode(&password)),
            ))
        }
        _ => None,
    };
    Ok(credentials.map(|(username, password)| Auth {
        mechanism,
        username,
        password,
    }))
}

/// The address inside `FROM:<a@b> PARAMS` / `TO:<a@b>`.
fn path_of(arg: &str) -> String {
    let value = arg.split_once(':').map_or(arg, |(_, value)| value).trim();
    match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => value[open + 1..close].to_string(),
        _ => value
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
