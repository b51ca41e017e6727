//! The rate limiter (pocketbase-surface.md §7) and the client's real IP (§8 `trustedProxy`).
//!
//! Pure logic: the HTTP layer describes a request as a [`Request`], asks [`Limiter::check`]
//! and answers 429 on [`Limited`]; superusers never get here. The app builds a new
//! [`Limiter`] whenever settings are saved, which is how PocketBase resets every counter.
//!
//! What is copied from PocketBase 0.40.6 on purpose (`apis/middlewares_rate_limit.go`,
//! `core/settings_model.go`, `core/event_request.go`; each point checked against the binary):
//!
//! - Lookup: the request's labels are, in order, `<collection>:<tag>` for every tag, `*:<tag>`
//!   for every tag (collection routes only), `METHOD /path`, `/path`. For each label, first
//!   the rules equal to it, then the prefix rules (label ending in `/`) in configured order,
//!   not longest first. The first rule whose audience takes the requester wins, so
//!   `GET /api/` beats `/api/health`. A bare `tag` rule is valid but never matches.
//! - Counters: on a plain route a rule counts per (rule, IP) across every path it covers;
//!   on a collection route per (collection, route tags, rule, IP), so `*:auth` gives each
//!   collection and each auth route its own allowance.
//! - Window: starts with the first request after the previous window ran out, lets
//!   `maxRequests` through, and lasts `duration` whole seconds; refusals do not extend it.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;

/// The time source, injected so tests can move time by hand.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Who is asking.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Audience {
    Guest,
    Auth,
}

/// One request as the limiter sees it.
pub struct Request<'a> {
    /// `GET`, `POST`...
    pub method: &'a str,
    /// The percent-decoded URL path without the query (Go's `URL.Path`),
    /// e.g. `/api/collections/users/request-otp`.
    pub path: &'a str,
    /// The collection's name on collection-scoped routes; `None` elsewhere (tags are then ignored).
    pub collection: Option<&'a str>,
    /// The route's tags in PocketBase's order, e.g. `["authWithPassword", "auth"]`.
    pub tags: &'a [&'a str],
    pub audience: Audience,
    /// The client's real IP as [`real_ip`] renders it; empty means "unknown" and is never limited.
    pub ip: &'a str,
}

/// The matching rule's window is full; the caller answers
/// 429 `{"data":{},"message":"Too Many Requests.","status":429}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited;

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Too Many Requests.")
    }
}

impl std::error::Error for Limited {}

/// The rules of one settings generation and the counters they have run up.
pub struct Limiter {
    enabled: bool,
    rules: Vec<Rule>,
    excluded: Vec<IpRange>,
    clock: Arc<dyn Clock>,
    /// Whole seconds are counted from here (see [`Limiter::tick`]).
    origin: Instant,
    windows: Mutex<Windows>,
}

impl Limiter {
    /// Reads `/rateLimits/{enabled,rules,excludedIPs}` from the whole settings document.
    /// Malformed parts are skipped: a rule without a label, a positive whole `duration` and
    /// `maxRequests`, or a known audience; an excluded entry that is neither IP nor CIDR.
    pub fn from_settings(settings: &Value, clock: Arc<dyn Clock>) -> Limiter {
        let enabled = settings
            .pointer("/rateLimits/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let rules = array_at(settings, "/rateLimits/rules")
            .filter_map(Rule::parse)
            .collect();
        let excluded = array_at(settings, "/rateLimits/excludedIPs")
            .filter_map(Value::as_str)
            .filter_map(IpRange::parse)
            .collect();
        let origin = clock.now();
        Limiter {
            enabled,
            rules,
            excluded,
            clock,
            origin,
            windows: Mutex::new(Windows::default()),
        }
    }

    /// Whether any request can be limited (callers skip building a [`Request`] otherwise).
    pub fn is_active(&self) -> bool {
        self.enabled && !self.rules.is_empty()
    }

    /// `Ok` when the request may go on (it is counted against the matching rule), `Err` when
    /// that rule's window is full. A disabled limiter, an excluded IP, an unknown IP or no
    /// matching rule let the request through uncounted.
    pub fn check(&self, req: &Request) -> Result<(), Limited> {
        if !self.enabled || req.ip.is_empty() || self.is_excluded(req.ip) {
            return Ok(());
        }
        let Some(rule) = self.find_rule(&labels(req), req.audience) else {
            return Ok(());
        };
        let key = WindowKey {
            rule,
            scope: req.collection.map(|collection| scope(collection, req.tags)),
            ip: req.ip.to_owned(),
        };
        let now = self.tick();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.consume(key, now, &self.rules) {
            Ok(())
        } else {
            Err(Limited)
        }
    }

    /// PocketBase's `FindRateLimitRule`: per label, the exact rules, then the prefix rules.
    fn find_rule(&self, labels: &[String], audience: Audience) -> Option<usize> {
        let takes = |rule: &Rule| rule.audience.takes(audience);
        labels.iter().find_map(|label| {
            let exact = self
                .rules
                .iter()
                .position(|r| r.label == *label && takes(r));
            exact.or_else(|| {
                self.rules
                    .iter()
                    .position(|r| r.is_prefix() && covers(&r.label, label) && takes(r))
            })
        })
    }

    fn is_excluded(&self, ip: &str) -> bool {
        parse_ip(ip)
            .is_some_and(|(addr, zone)| self.excluded.iter().any(|r| r.contains(addr, zone)))
    }

    /// Whole seconds since this limiter was built. PocketBase compares whole Unix seconds, so a
    /// window may end up to a second early (first hit at x.9 s, reset at x+3.0 s for a 3 s
    /// rule); we keep that granularity, with the second boundaries set at our origin.
    fn tick(&self) -> u64 {
        self.clock
            .now()
            .saturating_duration_since(self.origin)
            .as_secs()
    }
}

/// The client's real IP as PocketBase's `RealIP` computes it. Each `trustedProxy.headers`
/// entry is tried in order; `header` returns the value of the header's last occurrence
/// (matched case-insensitively). Its comma-separated entries are scanned from the right (from
/// the left with `useLeftmostIP`) for the first valid IP; a header that is missing, empty or
/// holds no valid IP passes to the next. Otherwise the socket's address. IPv6 comes out
/// expanded (`2001:0db8:0000:…:0001`), as PocketBase writes it.
pub fn real_ip(
    remote: IpAddr,
    settings: &Value,
    header: &dyn Fn(&str) -> Option<String>,
) -> String {
    let leftmost = settings
        .pointer("/trustedProxy/useLeftmostIP")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for name in array_at(settings, "/trustedProxy/headers").filter_map(Value::as_str) {
        let Some(value) = header(name) else { continue };
        let parse = |entry: &str| parse_ip(entry.trim()).map(|(ip, zone)| expanded(ip, zone));
        let mut entries = value.split(',');
        let found = if leftmost {
            entries.find_map(parse)
        } else {
            entries.rev().find_map(parse)
        };
        if let Some(ip) = found {
            return ip;
        }
    }
    // Go reports an IPv4 client of a dual-stack socket as IPv4, not `::ffff:a.b.c.d`.
    expanded(remote.to_canonical(), "")
}

/// One configured rule that survived parsing.
struct Rule {
    label: String,
    audience: RuleAudience,
    duration: u64,
    max_requests: u64,
}

impl Rule {
    fn parse(value: &Value) -> Option<Rule> {
        let label = value.get("label")?.as_str().filter(|l| !l.is_empty())?;
        let audience = match value.get("audience") {
            None | Some(Value::Null) => RuleAudience::All,
            Some(audience) => RuleAudience::parse(audience.as_str()?)?,
        };
        let positive = |key: &str| value.get(key)?.as_u64().filter(|&n| n > 0);
        Some(Rule {
            label: label.to_owned(),
            audience,
            duration: positive("duration")?,
            max_requests: positive("maxRequests")?,
        })
    }

    fn is_prefix(&self) -> bool {
        self.label.ends_with('/')
    }
}

#[derive(Clone, Copy)]
enum RuleAudience {
    All,
    Guest,
    Auth,
}

impl RuleAudience {
    /// Any other value never matches in PocketBase, which is the same as skipping the rule.
    fn parse(text: &str) -> Option<RuleAudience> {
        match text {
            "" => Some(RuleAudience::All),
            "@guest" => Some(RuleAudience::Guest),
            "@auth" => Some(RuleAudience::Auth),
            _ => None,
        }
    }

    fn takes(self, audience: Audience) -> bool {
        match self {
            RuleAudience::All => true,
            RuleAudience::Guest => audience == Audience::Guest,
            RuleAudience::Auth => audience == Audience::Auth,
        }
    }
}

/// The labels a request answers to, most specific first.
fn labels(req: &Request) -> Vec<String> {
    let mut labels = Vec::with_capacity(req.tags.len() * 2 + 2);
    if let Some(collection) = req.collection {
        labels.extend(req.tags.iter().map(|tag| format!("{collection}:{tag}")));
        labels.extend(req.tags.iter().map(|tag| format!("*:{tag}")));
    }
    labels.push(format!("{} {}", req.method, req.path));
    labels.push(req.path.to_owned());
    labels
}

/// PocketBase tests `label + "/"` against the prefix, so `/api/` also covers `/api`.
fn covers(prefix: &str, label: &str) -> bool {
    label.starts_with(prefix) || prefix.strip_suffix('/') == Some(label)
}

/// PocketBase keys a collection route's counter by collection and route; the tags name the
/// route. (It uses the collection id; the name differs only across a rename.)
fn scope(collection: &str, tags: &[&str]) -> String {
    let mut scope = collection.to_owned();
    for tag in tags {
        scope.push('\n');
        scope.push_str(tag);
    }
    scope
}

/// The live windows. Expired ones are dropped whenever the map reaches `prune_at`, which then
/// becomes twice what is left: memory stays within twice the live windows, at O(1) amortized.
struct Windows {
    map: HashMap<WindowKey, Window>,
    prune_at: usize,
}

/// The fewest windows kept before the first sweep.
const PRUNE_FLOOR: usize = 1024;

impl Default for Windows {
    fn default() -> Self {
        Windows {
            map: HashMap::new(),
            prune_at: PRUNE_FLOOR,
        }
    }
}

impl Windows {
    fn consume(&mut self, key: WindowKey, now: u64, rules: &[Rule]) -> bool {
        let Some(rule) = rules.get(key.rule) else {
            return true;
        };
        if self.map.len() >= self.prune_at {
            self.prune(now, rules);
        }
        let window = self.map.entry(key).or_insert(Window {
            start: now,
            available: rule.max_requests,
        });
        window.consume(now, rule)
    }

    /// Dropping an expired window changes nothing: its next request would reset it anyway.
    fn prune(&mut self, now: u64, rules: &[Rule]) {
        self.map.retain(|key, window| {
            rules
                .get(key.rule)
                .is_some_and(|rule| !window.expired(now, rule))
        });
        self.prune_at = (self.map.len() * 2).max(PRUNE_FLOOR);
        self.map.shrink_to(self.prune_at);
    }
}

#[derive(PartialEq, Eq, Hash)]
struct WindowKey {
    rule: usize,
    /// Collection and route tags on collection routes.
    scope: Option<String>,
    ip: String,
}

/// PocketBase's `rateClient`: a fixed window opened by the first request after the last expired.
struct Window {
    start: u64,
    available: u64,
}

impl Window {
    fn consume(&mut self, now: u64, rule: &Rule) -> bool {
        if self.expired(now, rule) {
            self.start = now;
            self.available = rule.max_requests;
        }
        let allowed = self.available > 0;
        self.available = self.available.saturating_sub(1);
        allowed
    }

    fn expired(&self, now: u64, rule: &Rule) -> bool {
        now.saturating_sub(self.start) >= rule.duration
    }
}

/// An `excludedIPs` entry: one address, or a CIDR subnet (host bits may be set, as in Go).
enum IpRange {
    Single(IpAddr, String),
    Subnet(IpAddr, u32),
}

impl IpRange {
    fn parse(text: &str) -> Option<IpRange> {
        let Some((addr, bits)) = text.split_once('/') else {
            return parse_ip(text).map(|(ip, zone)| IpRange::Single(ip, zone.to_owned()));
        };
        let addr: IpAddr = addr.parse().ok()?;
        let bits: u32 = bits.parse().ok()?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= width).then_some(IpRange::Subnet(addr, bits))
    }

    /// As Go's `netip`: families never mix (`::ffff:127.0.0.1` is not in `127.0.0.0/8`) and
    /// an address with a zone is in no subnet.
    fn contains(&self, ip: IpAddr, zone: &str) -> bool {
        match (self, ip) {
            (IpRange::Single(addr, z), _) => *addr == ip && z == zone,
            (_, _) if !zone.is_empty() => false,
            (IpRange::Subnet(IpAddr::V4(net), bits), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (IpRange::Subnet(IpAddr::V6(net), bits), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Go's `netip.ParseAddr`: an IPv4 or IPv6 address, IPv6 with an optional non-empty `%zone`.
fn parse_ip(text: &str) -> Option<(IpAddr, &str)> {
    match text.split_once('%') {
        None => text.parse().ok().map(|ip| (ip, "")),
        Some((addr, zone)) if !zone.is_empty() => {
            let ip: Ipv6Addr = addr.parse().ok()?;
            Some((IpAddr::V6(ip), zone))
        }
        Some(_) => None,
    }
}

/// Go's `netip.Addr.StringExpanded`: IPv4 dotted, IPv6 as eight 4-digit groups, no `::`
/// (IPv4-mapped included: `0000:…:ffff:0102:0304`).
fn expanded(ip: IpAddr, zone: &str) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let groups: Vec<String> = ip.segments().iter().map(|g| format!("{g:04x}")).collect();
            let mut text = groups.join(":");
            if !zone.is_empty() {
                text.push('%');
                text.push_str(zone);
            }
            text
        }
    }
}

fn array_at<'a>(settings: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    settings
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    struct FakeClock(Mutex<Instant>);

    impl FakeClock {
        fn advance(&self, millis: u64) {
            *self.0.lock().unwrap() += Duration::from_millis(millis);
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    fn build(rate_limits: Value) -> (Arc<FakeClock>, Limiter) {
        let clock = Arc::new(FakeClock(Mutex::new(Instant::now())));
        let settings = json!({ "rateLimits": rate_limits });
        (clock.clone(), Limiter::from_settings(&settings, clock))
    }

    /// An enabled limiter; each rule is (label, audience, duration, maxRequests).
    fn with_rules(rules: &[(&str, &str, u64, u64)]) -> (Arc<FakeClock>, Limiter) {
        let rules: Vec<Value> = rules
            .iter()
            .map(|(label, audience, duration, max)| {
                json!({"label": label, "audience": audience, "duration": duration, "maxRequests": max})
            })
            .collect();
        build(json!({"enabled": true, "rules": rules, "excludedIPs": []}))
    }

    fn plain(method: &'static str, path: &'static str) -> Request<'static> {
        Request {
            method,
            path,
            collection: None,
            tags: &[],
            audience: Audience::Guest,
            ip: "10.0.0.1",
        }
    }

    fn on(
        collection: &'static str,
        tags: &'static [&'static str],
        path: &'static str,
    ) -> Request<'static> {
        Request {
            collection: Some(collection),
            tags,
            ..plain("POST", path)
        }
    }

    fn from_ip(ip: &str) -> Request<'_> {
        Request {
            ip,
            ..plain("GET", "/api/x")
        }
    }

    /// How many of `n` identical requests get through.
    fn allowed(limiter: &Limiter, req: &Request, n: usize) -> usize {
        (0..n).filter(|_| limiter.check(req).is_ok()).count()
    }

    fn window_count(limiter: &Limiter) -> usize {
        limiter.windows.lock().unwrap().map.len()
    }

    #[test]
    fn label_kinds() {
        let records = "/api/collections/users/records";
        #[rustfmt::skip]
        let cases: &[(&str, Request, bool)] = &[
            ("GET /api/x", plain("GET", "/api/x"), true),
            ("GET /api/x", plain("POST", "/api/x"), false),
            ("GET /api/x", plain("GET", "/api/x/y"), false),
            ("/api/x", plain("DELETE", "/api/x"), true),
            ("/api/x", plain("GET", "/api/x/y"), false),
            ("/api/x", plain("GET", "/api/xy"), false),
            ("/api/x/", plain("GET", "/api/x"), true),
            ("/api/x/", plain("GET", "/api/x/y/z"), true),
            ("/api/x/", plain("GET", "/api/xy"), false),
            ("POST /api/", plain("POST", "/api/anything"), true),
            ("POST /api/", plain("GET", "/api/anything"), false),
            ("users:list", on("users", &["list"], "/p"), true),
            ("users:list", on("posts", &["list"], "/p"), false),
            ("users:list", on("users", &["view"], "/p"), false),
            ("*:auth", on("users", &["authWithPassword", "auth"], "/p"), true),
            ("*:list", plain("GET", records), false),
            ("list", on("users", &["list"], "/p"), false),
            (records, on("users", &["list"], records), true),
        ];
        for (label, req, matches) in cases {
            let (_, limiter) = with_rules(&[(label, "", 10, 2)]);
            let limited = allowed(&limiter, req, 3) == 2;
            assert_eq!(limited, *matches, "{label} vs {} {}", req.method, req.path);
        }
    }

    #[test]
    fn lookup_order() {
        // Each rule's maxRequests names it, so the allowance shows which rule won.
        let order = [
            ("users:create", "", 10, 1),
            ("*:create", "", 10, 2),
            ("POST /api/collections/users/records", "", 10, 3),
            ("POST /api/", "", 10, 4),
            ("/api/collections/users/records", "", 10, 5),
            ("/api/", "", 10, 6),
        ];
        let req = on("users", &["create"], "/api/collections/users/records");
        for first in 0..order.len() {
            // Most general first in the list, so list position cannot be what decides.
            let rules: Vec<_> = order[first..].iter().rev().copied().collect();
            let (_, limiter) = with_rules(&rules);
            assert_eq!(allowed(&limiter, &req, 9), first + 1, "{}", order[first].0);
        }
    }

    #[test]
    fn all_collection_labels_come_before_the_wildcards() {
        let req = on("users", &["authWithPassword", "auth"], "/p");
        let (_, limiter) =
            with_rules(&[("*:authWithPassword", "", 10, 1), ("users:auth", "", 10, 2)]);
        assert_eq!(allowed(&limiter, &req, 5), 2);
    }

    #[test]
    fn prefix_rules_in_configured_order_not_longest_first() {
        let (_, limiter) = with_rules(&[("/api/", "", 10, 1), ("/api/health/", "", 10, 3)]);
        assert_eq!(allowed(&limiter, &plain("GET", "/api/health"), 5), 1);
    }

    #[test]
    fn audience_filters_rules() {
        let rules = [
            ("/api/x", "@guest", 10, 1),
            ("/api/x", "@auth", 10, 2),
            ("/api/", "", 10, 3),
        ];
        let (_, limiter) = with_rules(&rules);
        let guest = from_ip("10.0.0.1");
        let auth = Request {
            audience: Audience::Auth,
            ..from_ip("10.0.0.2")
        };
        assert_eq!(allowed(&limiter, &guest, 5), 1);
        assert_eq!(allowed(&limiter, &auth, 5), 2);

        let (_, limiter) = with_rules(&[("/api/x", "@auth", 10, 1)]);
        assert_eq!(allowed(&limiter, &guest, 5), 5, "@auth ignores guests");
        let (_, limiter) = with_rules(&[("/api/x", "@guest", 10, 1)]);
        assert_eq!(allowed(&limiter, &auth, 5), 5, "@guest ignores auth users");
    }

    #[test]
    fn window_opens_at_first_hit_and_refusals_do_not_extend_it() {
        let (clock, limiter) = with_rules(&[("/api/x", "", 3, 2)]);
        let req = from_ip("10.0.0.1");
        assert_eq!(allowed(&limiter, &req, 3), 2);
        clock.advance(2000);
        assert_eq!(limiter.check(&req), Err(Limited));
        clock.advance(1000);
        assert_eq!(allowed(&limiter, &req, 3), 2, "3 s after the first hit");
        clock.advance(2999);
        assert_eq!(limiter.check(&req), Err(Limited));
        clock.advance(1);
        assert_eq!(limiter.check(&req), Ok(()));
    }

    #[test]
    fn window_counts_whole_seconds_like_pocketbase() {
        let (clock, limiter) = with_rules(&[("/api/x", "", 3, 1)]);
        let req = from_ip("10.0.0.1");
        clock.advance(900);
        assert_eq!(limiter.check(&req), Ok(()));
        clock.advance(2000); // second 2 since the origin
        assert_eq!(limiter.check(&req), Err(Limited));
        clock.advance(100); // only 2.1 s after the hit, but second 3
        assert_eq!(limiter.check(&req), Ok(()));
    }

    #[test]
    fn counters_per_ip_rule_collection_and_route() {
        let (_, limiter) = with_rules(&[("*:list", "", 10, 1), ("/api/", "", 10, 2)]);
        assert_eq!(allowed(&limiter, &plain("GET", "/api/a"), 3), 2);
        assert_eq!(
            allowed(&limiter, &plain("GET", "/api/b"), 3),
            0,
            "one counter across paths"
        );
        assert_eq!(
            allowed(&limiter, &from_ip("10.0.0.9"), 3),
            2,
            "IPs count apart"
        );

        assert_eq!(
            allowed(&limiter, &on("users", &["list"], "/api/c/users/records"), 3),
            1
        );
        assert_eq!(
            allowed(&limiter, &on("posts", &["list"], "/api/c/posts/records"), 3),
            1
        );
        // A collection route that falls to `/api/` still counts on its own, per route.
        assert_eq!(
            allowed(
                &limiter,
                &on("users", &["view"], "/api/c/users/records/a"),
                3
            ),
            2
        );
        assert_eq!(
            allowed(
                &limiter,
                &on("users", &["view"], "/api/c/users/records/b"),
                3
            ),
            0
        );
    }

    #[test]
    fn excluded_ips_and_subnets() {
        let excluded = [
            "10.1.2.3",
            "192.168.0.0/16",
            "127.0.0.5/8",
            "::1",
            "2001:db8::/32",
            "bogus",
            "1.2.3.4/99",
        ];
        let rules = [json!({"label": "/api/", "duration": 10, "maxRequests": 1})];
        let (_, limiter) = build(json!({"enabled": true, "rules": rules, "excludedIPs": excluded}));
        #[rustfmt::skip]
        let cases = [
            ("10.1.2.3", true), ("10.1.2.4", false), ("192.168.44.1", true), ("127.200.0.1", true),
            ("0000:0000:0000:0000:0000:0000:0000:0001", true),
            ("2001:0db8:0000:0000:0000:0000:0000:0042", true),
            ("2001:0db9:0000:0000:0000:0000:0000:0001", false),
            ("0000:0000:0000:0000:0000:ffff:c0a8:0001", false), // ::ffff:192.168.0.1: not IPv4
            ("2001:db8::1%eth0", false), ("bogus", false), ("1.2.3.4", false),
        ];
        for (ip, skipped) in cases {
            assert_eq!(allowed(&limiter, &from_ip(ip), 3) == 3, skipped, "{ip}");
        }
    }

    #[test]
    fn disabled_unknown_ip_and_no_rule_go_through_uncounted() {
        let rules = [json!({"label": "/api/", "duration": 10, "maxRequests": 1})];
        let (_, limiter) = build(json!({"enabled": false, "rules": rules}));
        assert_eq!(allowed(&limiter, &from_ip("10.0.0.1"), 50), 50);
        let (_, limiter) = with_rules(&[("/api/", "", 10, 1)]);
        assert_eq!(allowed(&limiter, &from_ip(""), 50), 50);
        assert_eq!(allowed(&limiter, &plain("GET", "/_/"), 50), 50);
        assert_eq!(window_count(&limiter), 0);
    }

    #[test]
    fn malformed_settings_never_panic_and_bad_rules_are_skipped() {
        #[rustfmt::skip]
        let documents = [json!(null), json!([]), json!({"rateLimits": 5}), json!({"rateLimits": {"enabled": "yes"}}),
            json!({"rateLimits": {"enabled": true, "rules": {}, "excludedIPs": "1.2.3.4"}})];
        for settings in documents {
            let limiter = Limiter::from_settings(&settings, Arc::new(SystemClock));
            assert_eq!(allowed(&limiter, &from_ip("10.0.0.1"), 20), 20);
        }
        let rule = |extra: Value| {
            let mut rule = json!({"label": "/api/x", "duration": 10, "maxRequests": 1});
            rule.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            rule
        };
        #[rustfmt::skip]
        let bad = [json!(7), json!({}), rule(json!({"label": ""})), rule(json!({"label": 5})),
            rule(json!({"duration": null})), rule(json!({"duration": 0})), rule(json!({"duration": -3})),
            rule(json!({"duration": 1.5})), rule(json!({"duration": "3"})), rule(json!({"maxRequests": 0})),
            rule(json!({"audience": "@admin"})), rule(json!({"audience": 1}))];
        let fallback = json!({"label": "/api/", "duration": 10, "maxRequests": 2});
        for bad in bad {
            let (_, limiter) = build(json!({"enabled": true, "rules": [bad.clone(), fallback]}));
            assert_eq!(
                allowed(&limiter, &from_ip("10.0.0.1"), 5),
                2,
                "{bad} is skipped"
            );
        }
        let huge = json!({"label": "/api/", "duration": u64::MAX, "maxRequests": u64::MAX});
        let (_, limiter) = build(json!({"enabled": true, "rules": [huge]}));
        assert_eq!(allowed(&limiter, &from_ip("10.0.0.1"), 5), 5);
    }

    #[test]
    fn expired_windows_are_pruned_so_memory_stays_bounded() {
        let (clock, limiter) = with_rules(&[("/api/", "", 1, 1)]);
        let mut peak = 0;
        for i in 0..20_000u32 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            assert_eq!(limiter.check(&from_ip(&ip)), Ok(()));
            if i % 100 == 99 {
                clock.advance(1000);
            }
            peak = peak.max(window_count(&limiter));
        }
        assert!(peak <= PRUNE_FLOOR, "peak of {peak} windows");
    }

    #[test]
    fn live_windows_survive_a_sweep() {
        let (_, limiter) = with_rules(&[("/api/", "", 60, 1)]);
        assert_eq!(limiter.check(&from_ip("10.0.0.1")), Ok(()));
        for i in 0..3 * PRUNE_FLOOR {
            let ip = format!("10.9.{}.{}", i >> 8, i & 255);
            assert_eq!(limiter.check(&from_ip(&ip)), Ok(()));
        }
        assert_eq!(limiter.check(&from_ip("10.0.0.1")), Err(Limited));
        assert_eq!(window_count(&limiter), 3 * PRUNE_FLOOR + 1);
    }

    #[test]
    fn real_ip_follows_trusted_proxy_settings() {
        let proxy = |headers: &[&str], leftmost: bool| json!({"trustedProxy": {"headers": headers, "useLeftmostIP": leftmost}});
        let (none, both) = (
            proxy(&[], false),
            proxy(&["X-Real-IP", "X-Forwarded-For"], false),
        );
        let leftmost = proxy(&["X-Forwarded-For"], true);
        let v6_expanded = "2001:0db8:0000:0000:0000:0000:0000:0001";
        type Case<'a> = (&'a Value, &'a str, &'a [(&'a str, &'a str)], &'a str);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (&none, "127.0.0.1", &[("x-forwarded-for", "1.1.1.1")], "127.0.0.1"),
            (&none, "::ffff:8.8.8.8", &[], "8.8.8.8"),
            (&none, "2001:db8::1", &[], v6_expanded),
            (&json!(null), "127.0.0.1", &[], "127.0.0.1"),
            (&both, "127.0.0.1", &[], "127.0.0.1"),
            (&both, "127.0.0.1", &[("x-forwarded-for", "1.1.1.1, 2.2.2.2")], "2.2.2.2"),
            (&both, "127.0.0.1", &[("x-forwarded-for", "1.1.1.1, junk")], "1.1.1.1"),
            (&both, "127.0.0.1", &[("x-forwarded-for", "junk, nope")], "127.0.0.1"),
            (&both, "127.0.0.1", &[("x-real-ip", "junk"), ("x-forwarded-for", "3.3.3.3")], "3.3.3.3"),
            (&both, "127.0.0.1", &[("x-real-ip", ""), ("x-forwarded-for", "4.4.4.4")], "4.4.4.4"),
            (&both, "127.0.0.1", &[("x-real-ip", " 5.5.5.5 "), ("x-forwarded-for", "4.4.4.4")], "5.5.5.5"),
            (&both, "127.0.0.1", &[("x-real-ip", "::ffff:1.2.3.4")], "0000:0000:0000:0000:0000:ffff:0102:0304"),
            (&both, "127.0.0.1", &[("x-real-ip", "2001:DB8::1")], v6_expanded),
            (&both, "127.0.0.1", &[("x-real-ip", "fe80::1%eth0")], "fe80:0000:0000:0000:0000:0000:0000:0001%eth0"),
            (&both, "127.0.0.1", &[("x-real-ip", "1.2.3.4:80")], "127.0.0.1"),
            (&both, "127.0.0.1", &[("x-real-ip", "[::1]")], "127.0.0.1"),
            (&both, "127.0.0.1", &[("x-real-ip", "01.2.3.4")], "127.0.0.1"),
            (&both, "127.0.0.1", &[("x-real-ip", "1.2.3.4%eth0")], "127.0.0.1"),
            (&leftmost, "127.0.0.1", &[("x-forwarded-for", "junk, 1.1.1.1, 2.2.2.2")], "1.1.1.1"),
        ];
        for (settings, remote, headers, expected) in cases {
            let header = |name: &str| {
                let name = name.to_ascii_lowercase();
                headers
                    .iter()
                    .find(|(h, _)| *h == name)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(
                real_ip(remote.parse().unwrap(), settings, &header),
                *expected,
                "{headers:?}"
            );
        }
    }
}
