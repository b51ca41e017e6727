//! TEMPORARY compile stub; the mail helper replaces this file.
pub struct Address {
    pub name: String,
    pub email: String,
}
pub struct Message {
    pub from: Address,
    pub to: Vec<Address>,
    pub subject: String,
    pub html: String,
    pub text: String,
}
pub struct SmtpConfig;
impl SmtpConfig {
    pub fn from_settings(_s: &serde_json::Value) -> Option<SmtpConfig> {
        None
    }
}
pub enum Transport {
    Smtp(SmtpConfig),
    Outbox(std::path::PathBuf),
}
pub enum Delivery {
    Sent,
    Written(std::path::PathBuf),
}
#[derive(Debug)]
pub struct MailError(pub String);
impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub async fn send(_t: &Transport, _m: &Message) -> Result<Delivery, MailError> {
    Err(MailError("stub".into()))
}
pub fn layout(b: &str) -> String {
    b.to_string()
}
pub fn render(t: &str, vars: &[(&str, &str)]) -> String {
    let mut s = t.to_string();
    for (k, v) in vars {
        s = s.replace(k, v);
    }
    s
}
