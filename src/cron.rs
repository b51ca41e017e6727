//! Cron: PocketBase's crontab-like scheduler (`tools/cron`), the jobs behind
//! `GET /api/crons` and `POST /api/crons/{id}` (pocketbase-surface.md §11).
//!
//! - [`Schedule`] parses PocketBase's expression syntax, which is narrower than Vixie cron:
//!   exactly five fields split on single spaces, `*`, `n`, `a-b`, `*/s`, `a-b/s` and comma
//!   lists (`a/s` only with `s = 1`), no names, no `?`/`L`/`W`, day of week `0..=6` (7 is
//!   rejected), plus seven `@` macros. Errors are worded as PocketBase's, typos included.
//! - [`Crons`] keeps the jobs in registration order; re-adding an id moves it to the end.
//! - [`Crons::start`] runs the ticker: once per UTC minute it spawns every due job on its own
//!   task, so a slow job delays nothing and a panicking one is logged and forgotten.
//!
//! Day of month and day of week are ANDed (PocketBase's `Schedule.IsDue`), unlike Vixie
//! cron's OR: `0 0 13 * 5` means "Friday the 13th", not "every 13th and every Friday".

use std::any::Any;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use tokio::task::{AbortHandle, JoinHandle};

/// The work of one job: called once per run, the returned future is awaited on its own task.
pub type JobFn = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Wraps an async closure as a [`JobFn`].
pub fn job_fn<F, Fut>(f: F) -> JobFn
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}

/// Macro expansions; a job's listed expression is the expanded one, because PocketBase
/// keeps `rawExpr` after substituting the macro (`tools/cron/schedule.go`).
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// When a job fires: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    days_of_week: u64,
    expression: String,
}

impl Schedule {
    /// Parses a macro or five space-separated fields: minute, hour, day of month, month,
    /// day of week (0 = Sunday).
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = MACROS
            .iter()
            .find(|(name, _)| *name == expr)
            .map_or(expr, |(_, expansion)| expansion);
        let segments: Vec<&str> = expr.split(' ').collect();
        let [minutes, hours, days, months, days_of_week] = segments[..] else {
            return Err(
                "invalid cron expression - must be a valid macro or to have exactly 5 \
                        space separated segments"
                    .to_string(),
            );
        };
        Ok(Schedule {
            minutes: parse_segment(minutes, 0, 59)?,
            hours: parse_segment(hours, 0, 23)?,
            days: parse_segment(days, 1, 31)?,
            months: parse_segment(months, 1, 12)?,
            days_of_week: parse_segment(days_of_week, 0, 6)?,
            expression: expr.to_string(),
        })
    }

    /// The expression as `GET /api/crons` shows it (macros expanded).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Whether the schedule fires in the minute of `at` (seconds ignored). Every field must
    /// match, day of month and day of week included.
    pub fn is_due(&self, at: DateTime<Utc>) -> bool {
        let has = |set: u64, value: u32| set & (1 << value) != 0;
        has(self.minutes, at.minute())
            && has(self.hours, at.hour())
            && has(self.days, at.day())
            && has(self.months, at.month())
            && has(self.days_of_week, at.weekday().num_days_from_sunday())
    }
}

/// One field: a comma list of parts, each `*`, `n`, `a-b`, optionally `/step`.
fn parse_segment(segment: &str, min: i64, max: i64) -> Result<u64, String> {
    let mut slots = 0;
    for part in segment.split(',') {
        let (from, to, step) = parse_part(part, min, max)?;
        for value in (from..=to).step_by(step) {
            slots |= 1 << value;
        }
    }
    Ok(slots)
}

/// One list item as `(from, to, step)`, checked in PocketBase's order so the first error
/// reported is the one PocketBase reports.
fn parse_part(part: &str, min: i64, max: i64) -> Result<(i64, i64, usize), String> {
    let step_parts: Vec<&str> = part.split('/').collect();
    let (range, step) = match step_parts[..] {
        [range] => (range, 1),
        [range, step] => {
            let step = atoi(step)?;
            if step < 1 || step > max {
                return Err(format!(
                    "invalid segment step boundary - the step must be between 1 and the {max}"
                ));
            }
            (range, step as usize)
        }
        _ => {
            return Err(
                "invalid segment step format - must be in the format */n or 1-30/n".to_string(),
            );
        }
    };
    if range == "*" {
        return Ok((min, max, step));
    }
    let range_parts: Vec<&str> = range.split('-').collect();
    match range_parts[..] {
        [value] => {
            if step != 1 {
                return Err(
                    "invalid segement step - step > 1 could be used only with the \
                            wildcard or range format"
                        .to_string(),
                );
            }
            let value = atoi(value)?;
            if value < min || value > max {
                return Err(
                    "invalid segment value - must be between the min and max of the \
                            segment"
                        .to_string(),
                );
            }
            Ok((value, value, 1))
        }
        [from, to] => {
            let from = atoi(from)?;
            if from < min || from > max {
                return Err(format!(
                    "invalid segment range minimum - must be between {min} and {max}"
                ));
            }
            let to = atoi(to)?;
            if to < from || to > max {
                return Err(format!(
                    "invalid segment range maximum - must be between {from} and {max}"
                ));
            }
            Ok((from, to, step))
        }
        _ => Err("invalid segment range format - the range must have 1 or 2 parts".to_string()),
    }
}

/// Go's `strconv.Atoi`, error text included: PocketBase passes it through unwrapped, so
/// `-1` fails as `parsing ""` (the `-` splits a range first) and `+5` is accepted.
fn atoi(s: &str) -> Result<i64, String> {
    let error = |reason: &str| format!("strconv.Atoi: parsing {}: {reason}", go_quote(s));
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() {
        return Err(error("invalid syntax"));
    }
    let mut magnitude: u64 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            return Err(error("invalid syntax"));
        }
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(byte - b'0')))
            .ok_or_else(|| error("value out of range"))?;
    }
    let signed = if s.starts_with('-') {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    i64::try_from(signed).map_err(|_| error("value out of range"))
}

/// Go's `strconv.Quote`; Go's printability test for non-ASCII runes is approximated by
/// "not a control character and not a space other than U+0020".
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let _ = match c {
            '"' | '\\' => write!(out, "\\{c}"),
            '\x07' => write!(out, "\\a"),
            '\x08' => write!(out, "\\b"),
            '\x0c' => write!(out, "\\f"),
            '\n' => write!(out, "\\n"),
            '\r' => write!(out, "\\r"),
            '\t' => write!(out, "\\t"),
            '\x0b' => write!(out, "\\v"),
            c if c < ' ' || c == '\x7f' => write!(out, "\\x{:02x}", u32::from(c)),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => match u32::from(c) {
                code if code < 0x10000 => write!(out, "\\u{code:04x}"),
                code => write!(out, "\\U{code:08x}"),
            },
            c => write!(out, "{c}"),
        };
    }
    out.push('"');
    out
}

#[derive(Clone)]
struct Job {
    id: String,
    schedule: Schedule,
    run: JobFn,
}

/// The registered jobs and, once started, the ticker that runs them.
#[derive(Default)]
pub struct Crons {
    jobs: Mutex<Vec<Job>>,
    ticker: Mutex<Option<AbortHandle>>,
}

impl Crons {
    pub fn new() -> Crons {
        Crons::default()
    }

    /// Registers a job; an existing job with the same id is removed first, so the new one
    /// goes to the end (PocketBase's `Cron.Add`: `slices.DeleteFunc` then `append`).
    pub fn add(&self, id: &str, expression: &str, run: JobFn) -> Result<(), String> {
        let schedule = Schedule::parse(expression)
            .map_err(|err| format!("failed to add new cron job: {err}"))?;
        let mut jobs = self.jobs();
        jobs.retain(|job| job.id != id);
        jobs.push(Job {
            id: id.to_string(),
            schedule,
            run,
        });
        Ok(())
    }

    pub fn remove(&self, id: &str) {
        self.jobs().retain(|job| job.id != id);
    }

    /// `(id, expression)` in `GET /api/crons` order: other jobs sorted by id (bytewise),
    /// then PocketBase's own `__pb*` jobs in registration order.
    ///
    /// `apis/cron.go` stable-sorts with a comparator that answers "after" whenever the left
    /// id starts with `__pb`; Go's sort only asks `cmp < 0`, which makes that the order
    /// "non-`__pb` by id, then all `__pb` as equals", i.e. [`list_rank`].
    pub fn list(&self) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = self
            .jobs()
            .iter()
            .map(|job| (job.id.clone(), job.schedule.expression.clone()))
            .collect();
        list.sort_by(|(a, _), (b, _)| list_rank(a).cmp(&list_rank(b)));
        list
    }

    /// Runs one job now and waits for it; `None` when no job has this id. A panic in the
    /// job is logged, not propagated.
    pub async fn run(&self, id: &str) -> Option<()> {
        let run = self.find(id)?;
        let _ = spawn_job(id.to_string(), run).await;
        Some(())
    }

    /// Starts one job in the background, as `POST /api/crons/{id}` does (it answers 204
    /// without waiting); `false` when no job has this id.
    pub fn run_detached(&self, id: &str) -> bool {
        let Some(run) = self.find(id) else {
            return false;
        };
        spawn_job(id.to_string(), run);
        true
    }

    /// Spawns the ticker on the current tokio runtime (panics outside one). Starting again
    /// replaces the previous ticker, as PocketBase's `Cron.Start` restarts. The ticker stops
    /// when the handle is aborted; dropping the handle detaches it (tokio semantics).
    pub fn start(self: &Arc<Self>) -> JoinHandle<()> {
        let handle = tokio::spawn(Arc::clone(self).tick(SystemClock));
        let previous = self.ticker_slot().replace(handle.abort_handle());
        if let Some(previous) = previous {
            previous.abort();
        }
        handle
    }

    fn jobs(&self) -> MutexGuard<'_, Vec<Job>> {
        // No user code runs under the lock, so a poisoned lock still holds a valid list.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ticker_slot(&self) -> MutexGuard<'_, Option<AbortHandle>> {
        self.ticker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, id: &str) -> Option<JobFn> {
        let jobs = self.jobs();
        jobs.iter()
            .find(|job| job.id == id)
            .map(|job| Arc::clone(&job.run))
    }

    fn run_due(&self, at: DateTime<Utc>) {
        let due: Vec<(String, JobFn)> = self
            .jobs()
            .iter()
            .filter(|job| job.schedule.is_due(at))
            .map(|job| (job.id.clone(), Arc::clone(&job.run)))
            .collect();
        for (id, run) in due {
            spawn_job(id, run);
        }
    }

    /// Fires at the start of every minute. Evaluates the minute it was aiming for, or the
    /// current one after a suspend or a forward clock jump (PocketBase evaluates the tick's
    /// own time); missed minutes are not replayed.
    async fn tick<C: Clock>(self: Arc<Self>, clock: C) {
        let mut last = None;
        loop {
            let mut next = start_of_minute(clock.now()) + TimeDelta::minutes(1);
            // A wake-up a hair early (wall clock vs the monotonic timer) must not fire the
            // same minute twice.
            if Some(next) == last {
                next += TimeDelta::minutes(1);
            }
            clock.sleep_until(next).await;
            let at = next.max(start_of_minute(clock.now()));
            self.run_due(at);
            last = Some(at);
        }
    }
}

/// `GET /api/crons` sort key: PocketBase's `__pb*` jobs last, all equal (so a stable sort
/// keeps their registration order), the others by id.
fn list_rank(id: &str) -> (bool, &str) {
    if id.starts_with("__pb") {
        (true, "")
    } else {
        (false, id)
    }
}

/// Runs the job on its own task and a watcher that logs a panic; the returned handle is the
/// watcher's, so awaiting it awaits the job.
fn spawn_job(id: String, run: JobFn) -> JoinHandle<()> {
    let job = tokio::spawn(async move { run().await });
    tokio::spawn(async move {
        if let Err(err) = job.await
            && err.is_panic()
        {
            let message = panic_message(err.into_panic());
            tracing::error!(job = %id, "cron job panicked: {message}");
        }
    })
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "unknown panic".to_string(), |s| (*s).to_string()),
    }
}

fn start_of_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(60) * 60, 0).unwrap_or(t)
}

/// The ticker's view of time: the seam that lets tests drive minutes without waiting.
trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn sleep_until(&self, at: DateTime<Utc>) -> impl Future<Output = ()> + Send;
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::{mpsc, watch};

    use super::*;

    const COUNT_ERROR: &str = "invalid cron expression - must be a valid macro or to have \
                               exactly 5 space separated segments";
    const VALUE_ERROR: &str =
        "invalid segment value - must be between the min and max of the segment";

    fn time(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    /// The values of field `index` (minute, hour, day, month, weekday) of a parsed schedule.
    fn field(expr: &str, index: usize) -> Vec<u32> {
        let s = Schedule::parse(expr).unwrap();
        let set = [s.minutes, s.hours, s.days, s.months, s.days_of_week][index];
        (0..64).filter(|bit| set & (1 << bit) != 0).collect()
    }

    #[test]
    fn parses_every_segment_form() {
        let cases: &[(&str, usize, &[u32])] = &[
            ("0 * * * *", 0, &[0]),
            ("59 * * * *", 0, &[59]),
            ("*/20 * * * *", 0, &[0, 20, 40]),
            (
                "1,2,5,7,40-50/2 * * * *",
                0,
                &[1, 2, 5, 7, 40, 42, 44, 46, 48, 50],
            ),
            ("5/1 * * * *", 0, &[5]),
            ("+5 * * * *", 0, &[5]),
            ("10-10 * * * *", 0, &[10]),
            ("*/2 */3 */5 */4 */2", 1, &[0, 3, 6, 9, 12, 15, 18, 21]),
            ("*/2 */3 */5 */4 */2", 2, &[1, 6, 11, 16, 21, 26, 31]),
            ("*/2 */3 */5 */4 */2", 3, &[1, 5, 9]),
            ("*/2 */3 */5 */4 */2", 4, &[0, 2, 4, 6]),
            ("* 3,4,8-16/3,7 * * *", 1, &[3, 4, 7, 8, 11, 14]),
            ("* * 5,6,20-30/3,1 * *", 2, &[1, 5, 6, 20, 23, 26, 29]),
            ("* * * 1,4,5-10/2 *", 3, &[1, 4, 5, 7, 9]),
            ("* * * * 1,2-5/2", 4, &[1, 2, 4]),
            ("59 23 31 12 6", 2, &[31]),
            ("* * * * 0", 4, &[0]),
        ];
        for (expr, index, expected) in cases {
            assert_eq!(field(expr, *index), *expected, "{expr} field {index}");
        }
        let full = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
        for (index, (lo, hi)) in full.into_iter().enumerate() {
            assert_eq!(field("* * * * *", index), (lo..=hi).collect::<Vec<_>>());
        }
    }

    #[test]
    fn expands_macros_and_lists_the_expansion() {
        let cases = [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ];
        for (name, expansion) in cases {
            let schedule = Schedule::parse(name).unwrap();
            assert_eq!(schedule, Schedule::parse(expansion).unwrap(), "{name}");
            assert_eq!(schedule.expression(), expansion);
        }
    }

    #[test]
    fn rejects_bad_expressions_with_pocketbase_messages() {
        let cases: &[(&str, &[&str])] = &[
            (
                COUNT_ERROR,
                &[
                    "invalid",
                    "",
                    "* * * *",
                    "* * * * * *",
                    "0  * * * *",
                    "0\t* * * *",
                ],
            ),
            (COUNT_ERROR, &["@every 5m", "@DAILY", " @daily"]),
            (
                VALUE_ERROR,
                &["60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *"],
            ),
            (
                VALUE_ERROR,
                &[
                    "* * * 0 *",
                    "* * * 13 *",
                    "* * * * 7",
                    "+9223372036854775807 * * * *",
                ],
            ),
            (
                "invalid segement step - step > 1 could be used only with the wildcard or range format",
                &["2/3 * * * *"],
            ),
            (
                "invalid segment step boundary - the step must be between 1 and the 59",
                &["*/0 * * * *"],
            ),
            (
                "invalid segment step boundary - the step must be between 1 and the 6",
                &["* * * * */7"],
            ),
            (
                "invalid segment step format - must be in the format */n or 1-30/n",
                &["*/2/3 * * * *"],
            ),
            (
                "invalid segment range format - the range must have 1 or 2 parts",
                &["1-2-3 * * * *"],
            ),
            (
                "invalid segment range minimum - must be between 0 and 59",
                &["70-80 * * * *"],
            ),
            (
                "invalid segment range maximum - must be between 30 and 59",
                &["30-20 * * * *"],
            ),
            (
                "invalid segment range maximum - must be between 5 and 31",
                &["* * 5-32 * *"],
            ),
        ];
        for (message, exprs) in cases {
            for expr in *exprs {
                assert_eq!(Schedule::parse(expr), Err(message.to_string()), "{expr:?}");
            }
        }
    }

    #[test]
    fn reports_number_errors_as_go_strconv_does() {
        let cases = [
            ("-1 * * * *", r#""""#, "invalid syntax"),
            ("0 * * * ", r#""""#, "invalid syntax"),
            ("1,,2 * * * *", r#""""#, "invalid syntax"),
            ("a * * * *", r#""a""#, "invalid syntax"),
            ("*/x * * * *", r#""x""#, "invalid syntax"),
            ("*-5 * * * *", r#""*""#, "invalid syntax"),
            ("1_0 * * * *", r#""1_0""#, "invalid syntax"),
            (r#"*"x * * * *"#, r#""*\"x""#, "invalid syntax"),
            ("\t * * * *", r#""\t""#, "invalid syntax"),
            ("é * * * *", r#""é""#, "invalid syntax"),
            ("\u{a0} * * * *", r#""\u00a0""#, "invalid syntax"),
            (
                "9223372036854775808 * * * *",
                "\"9223372036854775808\"",
                "value out of range",
            ),
            (
                "99999999999999999999x * * * *",
                "\"99999999999999999999x\"",
                "value out of range",
            ),
        ];
        for (expr, quoted, reason) in cases {
            let message = format!("strconv.Atoi: parsing {quoted}: {reason}");
            assert_eq!(Schedule::parse(expr), Err(message), "{expr:?}");
        }
    }

    #[test]
    fn is_due_matches_every_field_and_ignores_seconds() {
        let cases = [
            ("*/15 * * * *", "2024-03-05T10:45:59.999Z", true),
            ("*/15 * * * *", "2024-03-05T10:46:00Z", false),
            ("*/15 * * * *", "2024-03-05T10:00:00Z", true),
            ("0 9-17/4 * * *", "2024-03-05T13:00:00Z", true),
            ("0 9-17/4 * * *", "2024-03-05T15:00:00Z", false),
            ("0 9-17/4 * * *", "2024-03-05T17:00:30Z", true),
            ("30 12 * * *", "2024-03-05T12:30:45Z", true),
            ("@yearly", "2024-01-01T00:00:00Z", true),
            ("@yearly", "2024-02-01T00:00:00Z", false),
            // Sunday is 0; 2024-01-07 is a Sunday.
            ("0 0 * * 0", "2024-01-07T00:00:00Z", true),
            ("0 0 * * 0", "2024-01-08T00:00:00Z", false),
            ("0 0 * * 6", "2024-01-06T00:00:00Z", true),
            // Day of month AND day of week: only Friday the 13th (2024-09-13).
            ("0 0 13 * 5", "2024-09-13T00:00:00Z", true),
            ("0 0 13 * 5", "2024-09-20T00:00:00Z", false),
            ("0 0 13 * 5", "2024-08-13T00:00:00Z", false),
            ("* 2-6 * * 2,3", "2024-01-01T02:01:00Z", false),
            ("* 2-6 * * 2,3", "2024-01-03T02:01:00Z", true),
            ("* * 1,2,5,15-18/2 * *", "2024-01-17T01:01:00Z", true),
            ("* * 1,2,5,15-18/2 * *", "2024-01-18T01:01:00Z", false),
        ];
        for (expr, at, expected) in cases {
            let due = Schedule::parse(expr).unwrap().is_due(time(at));
            assert_eq!(due, expected, "{expr} at {at}");
        }
    }

    fn noop() -> JobFn {
        job_fn(|| async {})
    }

    fn ids(crons: &Crons) -> Vec<String> {
        crons.list().into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn lists_pocketbase_defaults_in_registration_order() {
        let crons = Crons::new();
        for (id, expr) in [
            ("__pbDBOptimize__", "0 0 * * *"),
            ("__pbMFACleanup__", "0 * * * *"),
            ("__pbOTPCleanup__", "0 * * * *"),
            ("__pbLogsCleanup__", "0 */6 * * *"),
        ] {
            crons.add(id, expr, noop()).unwrap();
        }
        let listed: Vec<(String, String)> = crons.list();
        let expected = [
            ("__pbDBOptimize__", "0 0 * * *"),
            ("__pbMFACleanup__", "0 * * * *"),
            ("__pbOTPCleanup__", "0 * * * *"),
            ("__pbLogsCleanup__", "0 */6 * * *"),
        ]
        .map(|(id, expr)| (id.to_string(), expr.to_string()));
        assert_eq!(listed, expected);
    }

    #[test]
    fn add_replace_remove_and_list_order() {
        let crons = Crons::new();
        for id in ["__pbA", "zeta", "__pbC", "alpha", "__pbB", "Beta"] {
            crons.add(id, "* * * * *", noop()).unwrap();
        }
        assert_eq!(
            ids(&crons),
            ["Beta", "alpha", "zeta", "__pbA", "__pbC", "__pbB"]
        );

        // Replacing moves the job to the end of registration order.
        crons.add("__pbA", "@hourly", noop()).unwrap();
        assert_eq!(
            ids(&crons),
            ["Beta", "alpha", "zeta", "__pbC", "__pbB", "__pbA"]
        );
        assert_eq!(crons.list()[5].1, "0 * * * *");

        crons.remove("zeta");
        crons.remove("missing");
        assert_eq!(ids(&crons), ["Beta", "alpha", "__pbC", "__pbB", "__pbA"]);

        let err = crons.add("alpha", "* * * * 7", noop()).unwrap_err();
        assert_eq!(err, format!("failed to add new cron job: {VALUE_ERROR}"));
        assert_eq!(
            crons.list()[1],
            ("alpha".to_string(), "* * * * *".to_string())
        );
    }

    #[tokio::test]
    async fn run_awaits_the_job_and_survives_panics() {
        let crons = Crons::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let count = job_fn(move || {
            let counter = Arc::clone(&counter);
            async move {
                tokio::task::yield_now().await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        crons.add("count", "* * * * *", count).unwrap();
        crons
            .add("boom", "* * * * *", job_fn(|| async { panic!("boom") }))
            .unwrap();

        assert_eq!(crons.run("missing").await, None);
        assert_eq!(crons.run("count").await, Some(()));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(crons.run("boom").await, Some(()));
        assert!(!crons.run_detached("missing"));
        assert!(crons.run_detached("count"));
    }

    /// A clock the test moves by hand; the ticker's sleeps end when it passes their target.
    #[derive(Clone)]
    struct ManualClock(Arc<watch::Sender<DateTime<Utc>>>);

    impl ManualClock {
        /// Moves time once the ticker is parked, so it has read the old time first.
        async fn set(&self, rfc3339: &str) {
            while self.0.receiver_count() == 0 {
                tokio::task::yield_now().await;
            }
            self.0.send_replace(time(rfc3339));
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.borrow()
        }

        fn sleep_until(&self, at: DateTime<Utc>) -> impl Future<Output = ()> + Send {
            let mut now = self.0.subscribe();
            async move {
                let _ = now.wait_for(|now| *now >= at).await;
            }
        }
    }

    async fn receive(
        rx: &mut mpsc::UnboundedReceiver<&'static str>,
        n: usize,
    ) -> Vec<&'static str> {
        let mut got = Vec::new();
        for _ in 0..n {
            let next = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            got.push(next.expect("job did not fire").unwrap());
        }
        got.sort_unstable();
        got
    }

    #[tokio::test]
    async fn ticker_fires_due_jobs_each_minute_despite_slow_and_panicking_jobs() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let report = |name: &'static str| {
            let tx = tx.clone();
            job_fn(move || {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(name);
                }
            })
        };
        let crons = Arc::new(Crons::new());
        crons
            .add("slow", "* * * * *", job_fn(std::future::pending))
            .unwrap();
        crons
            .add("boom", "* * * * *", job_fn(|| async { panic!("boom") }))
            .unwrap();
        crons.add("every", "* * * * *", report("every")).unwrap();
        crons.add("even", "*/2 * * * *", report("even")).unwrap();
        crons.add("at-5", "5 * * * *", report("at-5")).unwrap();

        let clock = ManualClock(Arc::new(watch::Sender::new(time("2024-01-01T00:00:30Z"))));
        let ticker = tokio::spawn(Arc::clone(&crons).tick(clock.clone()));
        let steps: [(&str, &[&str]); 4] = [
            ("2024-01-01T00:01:00Z", &["every"]),
            ("2024-01-01T00:02:00.250Z", &["even", "every"]),
            ("2024-01-01T00:03:00Z", &["every"]),
            // A jump (suspend, clock change) fires once, for the minute it now is.
            ("2024-01-01T00:05:40Z", &["at-5", "every"]),
        ];
        for (now, expected) in steps {
            clock.set(now).await;
            assert_eq!(receive(&mut rx, expected.len()).await, expected, "at {now}");
        }
        clock.set("2024-01-01T00:05:59Z").await;
        tokio::task::yield_now().await;
        ticker.abort();
        assert!(ticker.await.unwrap_err().is_cancelled());
        assert!(
            rx.try_recv().is_err(),
            "nothing fires before the next minute"
        );
    }

    #[tokio::test]
    async fn start_replaces_a_running_ticker() {
        let crons = Arc::new(Crons::new());
        let first = crons.start();
        let second = crons.start();
        assert!(first.await.unwrap_err().is_cancelled());
        second.abort();
        assert!(second.await.unwrap_err().is_cancelled());
    }
}
