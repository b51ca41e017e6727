//! Email one-time passwords (§6): the two engine operations every face calls (the REST
//! endpoints, and later hooks and pages). PocketBase-exact by default; the collection's
//! `otp.singleActive`, `otp.securityPhrase` and `otp.autoCreate` add Satchel's options
//! (docs/otp.md).
//!
//! Timing: a known and an unknown email cost the same (one bcrypt hash at cost 8 each; the
//! mail goes out after the answer), so the answer time does not tell whether an account
//! exists.

use std::time::Duration;

use axum::http::{HeaderMap, Method};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::api::extract::Query;
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::auth::{mails, password};
use crate::core::collection::Collection;
use crate::core::records::{self, Actor};
use crate::core::validate::is_email;
use crate::core::{datetime, ids};
use crate::error::{ApiError, FieldErrors, field_error, field_error_with};
use crate::filter::sql::RequestInfo;
use crate::hooks::{
    BoxFuture, HookResult, MailerRecordEvent, RecordAuthWithOtpEvent, RecordOtpRequestEvent,
};
use crate::store::{self, Db};

/// The bcrypt cost of stored codes (PocketBase's `_otps.password` field).
const CODE_COST: u32 = 8;
/// Live OTPs per record before the newest is reused instead of mailing another.
const MAX_LIVE: usize = 10;
/// The attempt limit of `auth-with-otp` per record and client IP, whatever the settings.
const MAX_ATTEMPTS: u32 = 5;
const ATTEMPTS_WINDOW: Duration = Duration::from_secs(180);

/// What `request-otp` answers.
#[derive(Debug, Clone)]
pub struct Requested {
    pub otp_id: String,
    /// With `otp.securityPhrase`: the words the mail repeats.
    pub phrase: Option<String>,
}

/// `request-otp` (§6): validates the email, and for a known record stores a hashed code and
/// mails it in the background. An unknown email gets a random id and nothing else.
pub async fn request_otp(
    app: &App,
    collection: &Collection,
    body: &Map<String, Value>,
) -> Result<Requested, ApiError> {
    let options = enabled(collection)?.otp;
    let email = match body.get("email") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let mut errors = FieldErrors::new();
    if email.is_empty() {
        errors.insert(
            "email".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    } else if email.chars().count() > 255 {
        errors.insert(
            "email".into(),
            field_error_with(
                "validation_length_out_of_range",
                "The length must be between {{.min}} and {{.max}}.",
                json!({"min": 1, "max": 255}),
            ),
        );
    } else if !is_email(&email) {
        errors.insert(
            "email".into(),
            field_error("validation_is_email", "Must be a valid email address."),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(
            "An error occurred while validating the submitted data.",
        )
        .with_data(errors));
    }
    let length = options.length.clamp(1, 71) as usize;
    let code = ids::random_string(length, "1234567890");
    let phrase = options.security_phrase.then(phrase);
    let mut record =
        store::records::find_by_field(&app.store().read, collection, "email", &email).await?;
    if record.is_none() && options.auto_create {
        record = auto_create(app, collection, &email).await;
    }
    if record.is_none() {
        log_event("otp_requested_unknown", collection, &email);
    }
    let mut event = RecordOtpRequestEvent {
        app: app.clone(),
        collection: collection.clone(),
        record,
        password: code,
        phrase: phrase.clone().unwrap_or_default(),
        otp_id: String::new(),
        request: RequestInfo {
            auth: None,
            body: body.clone(),
            query: Map::new(),
            headers: Default::default(),
            method: "POST".into(),
            context: "default".into(),
        },
    };
    app.hooks()
        .on_record_request_otp_request
        .trigger(&mut event, &issue_action)
        .await?;
    // A chain stopped before the default action still answers like an unknown email.
    let otp_id = match event.otp_id {
        id if id.is_empty() => ids::record_id(),
        id => id,
    };
    Ok(Requested { otp_id, phrase })
}

fn issue_action(e: &mut RecordOtpRequestEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(issue(e))
}

/// The default action of `onRecordRequestOTPRequest`: store the (possibly changed) code for
/// a known record and mail it in the background; set the answer's id.
async fn issue(e: &mut RecordOtpRequestEvent) -> HookResult {
    let (app, collection) = (&e.app, &e.collection);
    let options = collection.auth.clone().unwrap_or_default().otp;
    let Some(record) = e.record.clone() else {
        // Same work as a known email: one hash at the same cost, no row, no mail.
        let _ = password::hash(e.password.clone(), CODE_COST).await;
        e.otp_id = ids::record_id();
        return Ok(());
    };
    let record_id = text(&record, "id");
    if !app.config().dev {
        let since =
            datetime::format(chrono::Utc::now() - chrono::Duration::seconds(options.duration));
        let live =
            store::auth::otps_live(&app.store().reader, &collection.id, &record_id, &since).await?;
        if live.len() >= MAX_LIVE {
            tracing::warn!(collection = %collection.name, record = %record_id, "too many OTP requests - reusing the last issued");
            let _ = password::hash(e.password.clone(), CODE_COST).await;
            e.otp_id = live[0].0.clone();
            return Ok(());
        }
    }
    let hash = password::hash(e.password.clone(), CODE_COST)
        .await
        .map_err(ApiError::internal)?;
    let otp_id = ids::record_id();
    app.metrics()
        .inc("satchel_otp_requested_total", &collection.name);
    log_event("otp_requested", collection, &text(&record, "email"));
    let message = mails::otp(app, collection, &record, &otp_id, &e.password, &e.phrase);
    let mut meta = Map::new();
    meta.insert("otpId".into(), json!(otp_id));
    meta.insert("password".into(), json!(e.password));
    let mut mail = MailerRecordEvent {
        app: app.clone(),
        collection: collection.clone(),
        record,
        message,
        meta,
    };
    // Everything after the hash happens after the answer: the row only has to exist by the
    // time the mail can be read, and an unknown email (which stores nothing) then takes
    // exactly as long (no timing oracle, docs/otp.md).
    let (app, id) = (app.clone(), otp_id.clone());
    tokio::spawn(async move {
        let collection = &mail.collection;
        let stored = async {
            let mut writer = app.store().writer.turn().await?;
            store::auth::otp_insert(&mut *writer, &id, &collection.id, &record_id, &hash).await?;
            if options.single_active {
                store::auth::otps_delete_for_record(&mut *writer, &collection.id, &record_id, &id)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        };
        if let Err(err) = stored.await {
            tracing::error!("failed to store OTP {id}: {err}");
            return;
        }
        let sent = app
            .hooks()
            .on_mailer_record_otp_send
            .trigger(&mut mail, &send_action)
            .await;
        if sent.is_err() {
            // The client still holds the id; it will get "Invalid or expired OTP."
            app.metrics()
                .inc("satchel_otp_mail_failed_total", &mail.collection.name);
            let deleted = match app.store().writer.turn().await {
                Ok(mut writer) => store::auth::otp_delete(&mut *writer, &id).await,
                Err(err) => Err(err),
            };
            if let Err(err) = deleted {
                tracing::error!("failed to delete unsent OTP {id}: {err}");
            }
        }
    });
    e.otp_id = otp_id;
    Ok(())
}

fn send_action(e: &mut MailerRecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(send_otp(e))
}

/// The default action of `onMailerRecordOTPSend`: send, then record where the code went
/// (`sentTo`, which later decides whether the login verifies the email).
async fn send_otp(e: &mut MailerRecordEvent) -> HookResult {
    e.app
        .send_mail(&e.message)
        .await
        .map_err(|err| ApiError::bad_request(format!("Failed to send the OTP email: {err}")))?;
    e.app
        .metrics()
        .inc("satchel_otp_mailed_total", &e.collection.name);
    let (Some(id), Some(to)) = (
        e.meta.get("otpId").and_then(Value::as_str),
        e.message.to.first(),
    ) else {
        return Ok(());
    };
    let updated = match e.app.store().writer.turn().await {
        Ok(mut writer) => store::auth::otp_set_sent_to(&mut *writer, id, &to.email).await,
        Err(err) => Err(err),
    };
    if let Err(err) = updated {
        tracing::error!("failed to update OTP {id} sentTo: {err}");
    }
    Ok(())
}

/// Why `auth-with-otp` failed, with the attempts the record has left from this IP (the
/// `X-OTP-Attempts-Left` header).
#[derive(Debug)]
pub struct Failed {
    pub error: ApiError,
    pub attempts_left: Option<u32>,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        Failed {
            error,
            attempts_left: None,
        }
    }
}

impl From<sqlx::Error> for Failed {
    fn from(error: sqlx::Error) -> Self {
        Failed::from(ApiError::from(error))
    }
}

/// `auth-with-otp` up to the auth answer (§6): checks the OTP, the attempt limit and the
/// code; consumes the OTP exactly once; verifies the record when the code was mailed to its
/// current email (and, without MFA, replaces its password). Returns the record to log in.
pub async fn auth_with_otp(
    app: &App,
    collection: &Collection,
    body: &Map<String, Value>,
    client_ip: &str,
) -> Result<Map<String, Value>, Failed> {
    let options = enabled(collection)?;
    let field = |key: &str| match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let (otp_id, code) = (field("otpId"), field("password"));
    let mut errors = FieldErrors::new();
    for (key, value, max) in [("otpId", &otp_id, 255), ("password", &code, 71)] {
        if value.is_empty() {
            errors.insert(
                key.into(),
                field_error("validation_required", "Cannot be blank."),
            );
        } else if value.chars().count() > max {
            errors.insert(
                key.into(),
                field_error_with(
                    "validation_length_out_of_range",
                    "The length must be between {{.min}} and {{.max}}.",
                    json!({"min": 1, "max": max}),
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(
            "An error occurred while validating the submitted data.",
        )
        .with_data(errors)
        .into());
    }
    let invalid = |left: Option<u32>| {
        app.metrics()
            .inc("satchel_otp_wrong_code_total", &collection.name);
        Failed {
            error: ApiError::bad_request("Invalid or expired OTP."),
            attempts_left: left,
        }
    };
    let expired_before =
        datetime::format(chrono::Utc::now() - chrono::Duration::seconds(options.otp.duration));
    let Some(otp) = store::auth::otp_find(&mut *app.store().writer.turn().await?, &otp_id)
        .await?
        .filter(|o| o.collection_ref == collection.id && o.created >= expired_before)
    else {
        return Err(invalid(Some(0)));
    };
    let Some(record) =
        store::records::find_by_id(&app.store().read, collection, &otp.record_ref).await?
    else {
        return Err(invalid(Some(0)));
    };
    let key = format!("@pb_otp_{}{client_ip}", otp.record_ref);
    let Some(left) = app.windows().hit(&key, MAX_ATTEMPTS, ATTEMPTS_WINDOW) else {
        app.metrics()
            .inc("satchel_otp_attempts_limited_total", &collection.name);
        return Err(Failed {
            error: ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts, please try again later with a new OTP.",
            ),
            attempts_left: Some(0),
        });
    };
    if !password::verify(code, otp.password.clone()).await {
        return Err(invalid(Some(left)));
    }
    let mut event = RecordAuthWithOtpEvent {
        app: app.clone(),
        collection: collection.clone(),
        record,
        otp,
    };
    app.hooks()
        .on_record_auth_with_otp_request
        .trigger(&mut event, &consume_action)
        .await
        .map_err(|error| {
            app.metrics()
                .inc("satchel_otp_wrong_code_total", &collection.name);
            Failed {
                error,
                attempts_left: Some(left),
            }
        })?;
    Ok(event.record)
}

fn consume_action(e: &mut RecordAuthWithOtpEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(consume(e))
}

/// The default action of `onRecordAuthWithOTPRequest`: consume the OTP exactly once, then
/// verify the record when the code was mailed to its current email.
async fn consume(e: &mut RecordAuthWithOtpEvent) -> HookResult {
    // Of concurrent right answers, only the one that deletes the row wins.
    if store::auth::otp_delete(&mut *e.app.store().writer.turn().await?, &e.otp.id).await? != 1 {
        return Err(ApiError::bad_request("Invalid or expired OTP."));
    }
    let name = e.collection.name.clone();
    e.app.metrics().inc("satchel_otp_verified_total", &name);
    log_event("otp_verified", &e.collection, &text(&e.record, "email"));
    let verified = e.record.get("verified") == Some(&Value::Bool(true));
    if verified || e.otp.sent_to.is_empty() || e.otp.sent_to != text(&e.record, "email") {
        return Ok(());
    }
    let mut changes = Map::new();
    changes.insert("verified".into(), json!(true));
    // Observed in PocketBase 0.40.6 (§13.5): without MFA, the first OTP login of an
    // unverified record also replaces its password (guarding against pre-hijacking).
    let mfa = e.collection.auth.as_ref().is_some_and(|a| a.mfa.enabled);
    if !mfa {
        changes.insert("password".into(), json!(ids::secret()));
    }
    match records::update_auth(&e.app, &e.collection, &e.record, changes).await {
        Ok(updated) => e.record = updated,
        Err(err) => tracing::error!(
            "failed to mark record {} verified after OTP: {err:?}",
            text(&e.record, "id")
        ),
    }
    Ok(())
}

/// The collection's auth options if OTP is on, else PocketBase's 403.
fn enabled(collection: &Collection) -> Result<crate::core::auth_options::AuthOptions, ApiError> {
    collection
        .auth
        .clone()
        .filter(|a| a.otp.enabled)
        .ok_or_else(|| {
            ApiError::forbidden("The collection is not configured to allow OTP authentication.")
        })
}

/// `otp.autoCreate`: an unverified record with a random password for `email`, if the
/// collection's createRule admits a guest creating it. `None` when refused or invalid.
async fn auto_create(
    app: &App,
    collection: &Collection,
    email: &str,
) -> Option<Map<String, Value>> {
    let rule = collection.create_rule.clone()?;
    let secret = ids::secret();
    let mut body = Map::new();
    body.insert("email".into(), json!(email));
    body.insert("password".into(), json!(secret));
    body.insert("passwordConfirm".into(), json!(secret));
    let record = records::prepare_create(
        app,
        Db::Shared(app.store()),
        collection,
        &body,
        Actor::default(),
    )
    .await
    .ok()?;
    if !rule.trim().is_empty() {
        let mut access = Access::new(None, &Query(Vec::new()), Method::POST, &HeaderMap::new());
        access.request.body = body;
        let filter = rules::compile(app, collection, &access, Some(&rule), None).ok()?;
        if !store::records::would_match(Db::Shared(app.store()), collection, &record, &filter)
            .await
            .ok()?
        {
            return None;
        }
    }
    records::insert(app, Db::Shared(app.store()), collection, &record)
        .await
        .ok()?;
    log_event("otp_auto_created", collection, email);
    store::records::find_by_id(&app.store().read, collection, &text(&record, "id"))
        .await
        .ok()?
}

/// Three common words from the CSPRNG, e.g. "amber river tulip".
fn phrase() -> String {
    use rand::RngExt;
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = rand::rng();
    (0..3)
        .map(|_| words[rng.random_range(0..words.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// One structured line per OTP event; the email is hashed, the code never logged.
fn log_event(event: &str, collection: &Collection, email: &str) {
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    let hashed: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    tracing::info!(event, collection = %collection.name, email_sha256 = %hashed, "otp");
}

fn text(record: &Map<String, Value>, key: &str) -> String {
    record
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// 256 short common words for security phrases.
const WORDS: &str = "able acid aged also area army away baby back ball band bank base bath bear beat \
bell best bird blue boat body bone book born both bowl busy cake calm camp card care cart case cash cast \
cell chef city clay coat code coin cold cook cool copy corn cost crew crop dark data date dawn deal deep \
deer desk dial disk dock door dove down draw drum duck dust duty each east easy edge envy epic even ever \
face fact fair farm fast fern film fire firm fish flag flat flow foam fold food foot fork form fort fox free \
frog fuel full fund gain game gate gear gift glad glow goal gold golf good gown grid grow gulf hair half \
hall hand harp hawk head heat herb hero high hill hint home hope horn host hour huge idea inch iron isle \
jade jazz jump just keen keep kind king kite knee knot lace lake lamp land lane last lava lawn leaf lens \
lily lime line lion list load loaf lock loft long loop lord loud love luck lung made mail main malt many \
map mark mask meal mild milk mill mind mint mist moon moss most moth much mule nest news nice noon nose \
note oak oats open oval owl pace page palm park path peak pear pine pink plan play plum poem pond pool \
port post pure quay race raft rain ramp rare reed rice ring road rock roof room rope rose ruby safe sage \
sail salt sand seal seed ship shoe silk sky snow soap sofa soil song soup star stem sun swan tail team \
tent tide tile time toad tree tulip vase vine wave wolf";
