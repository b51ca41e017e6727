//! The engine's own cron jobs, registered in PocketBase's order (§11, `GET /api/crons`):
//! `__pbDBOptimize__` (daily `PRAGMA optimize`), `__pbMFACleanup__` and `__pbOTPCleanup__`
//! (hourly: delete `_mfas`/`_otps` rows older than their collection's duration).
//! PocketBase's `__pbLogsCleanup__` is not registered: Satchel keeps no request-log table yet.

use crate::app::App;
use crate::core::datetime;
use crate::cron::job_fn;
use crate::store::auth::{self as auth_store, AuthTable};

pub fn register(app: &App) {
    let (a, b, c) = (app.clone(), app.clone(), app.clone());
    let jobs = [
        (
            "__pbDBOptimize__",
            "0 0 * * *",
            job_fn(move || optimize(a.clone())),
        ),
        (
            "__pbMFACleanup__",
            "0 * * * *",
            job_fn(move || cleanup(b.clone(), AuthTable::Mfas)),
        ),
        (
            "__pbOTPCleanup__",
            "0 * * * *",
            job_fn(move || cleanup(c.clone(), AuthTable::Otps)),
        ),
    ];
    for (id, expression, run) in jobs {
        if let Err(err) = app.crons().add(id, expression, run) {
            tracing::error!("cron {id}: {err}");
        }
    }
}

async fn optimize(app: App) {
    let optimized = match app.store().writer.turn().await {
        Ok(mut turn) => sqlx::query("PRAGMA optimize").execute(&mut *turn).await,
        Err(err) => Err(err),
    };
    if let Err(err) = optimized {
        tracing::warn!("PRAGMA optimize failed: {err}");
    }
}

/// Deletes each auth collection's expired rows of `table` (OTPs and MFA sessions expire
/// after the collection's `otp.duration` / `mfa.duration`).
pub async fn cleanup(app: App, table: AuthTable) {
    for collection in app.collections().iter().filter(|c| c.is_auth()) {
        let options = collection.auth.clone().unwrap_or_default();
        let seconds = match table {
            AuthTable::Mfas => options.mfa.duration,
            _ => options.otp.duration,
        };
        let before = datetime::format(chrono::Utc::now() - chrono::Duration::seconds(seconds));
        let deleted = match app.store().writer.turn().await {
            Ok(mut turn) => {
                auth_store::delete_expired(&mut *turn, table, &collection.id, &before).await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = deleted {
            tracing::warn!(
                "expired {table:?} cleanup of {} failed: {err}",
                collection.name
            );
        }
    }
}
