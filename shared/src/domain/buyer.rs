//! The B2B buyers of leads (installers, lead marketplaces) and the terms they buy on:
//! tier and price band, caps, service area, minimum quality, hours, webhook and secret.
//! A `Buyer` is only built through `BuyerTerms::validate`, so every buyer the router sees
//! is one whose terms make sense.

use super::conversation::{NamedSeller, ZipCode};
use super::facts::{Borough, PropertyType};
use super::money::Cents;
use super::scoring::QualityTier;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A buyer's commercial tier: the base price of a lead before any multiplier.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BuyerTier {
    Premium,
    Standard,
    Volume,
    Direct,
}

impl BuyerTier {
    pub const ALL: [BuyerTier; 4] = [
        BuyerTier::Premium,
        BuyerTier::Standard,
        BuyerTier::Volume,
        BuyerTier::Direct,
    ];

    /// SPEC §2: premium $250, standard $125, volume $75, direct $180.
    pub fn base_price(self) -> Cents {
        match self {
            BuyerTier::Premium => Cents(25_000),
            BuyerTier::Standard => Cents(12_500),
            BuyerTier::Volume => Cents(7_500),
            BuyerTier::Direct => Cents(18_000),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BuyerTier::Premium => "premium",
            BuyerTier::Standard => "standard",
            BuyerTier::Volume => "volume",
            BuyerTier::Direct => "direct",
        }
    }
}

/// `[a-z0-9_-]{1,64}`: buyer ids appear in keys, URLs and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BuyerId(String);

impl BuyerId {
    pub fn parse(raw: &str) -> Result<BuyerId, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(BuyerId(raw.to_owned()))
        } else {
            Err("must be 1 to 64 characters of a-z, 0-9, _ and -".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BuyerId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        BuyerId::parse(&raw)
    }
}

impl From<BuyerId> for String {
    fn from(id: BuyerId) -> String {
        id.0
    }
}

impl fmt::Display for BuyerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Standard Webhooks signing secret: `whsec_` + base64 of 24 to 64 bytes. Its `Debug`
/// and `Display` never show the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    pub fn parse(raw: &str) -> Result<WebhookSecret, String> {
        let Some(key) = raw.strip_prefix(Self::PREFIX) else {
            return Err("must start with whsec_".into());
        };
        let decoded_len = base64_decoded_len(key).ok_or("must be whsec_ followed by base64")?;
        if !(24..=64).contains(&decoded_len) {
            return Err("must hold 24 to 64 bytes of key".into());
        }
        Ok(WebhookSecret(raw.to_owned()))
    }

    /// The whole secret, `whsec_…`, for the signing library. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The decoded length of standard base64 text, or `None` when it is not base64.
fn base64_decoded_len(text: &str) -> Option<usize> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    let valid = !text.is_empty()
        && text.len().is_multiple_of(4)
        && padding <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    valid.then(|| text.len() / 4 * 3 - padding)
}

impl TryFrom<String> for WebhookSecret {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        WebhookSecret::parse(&raw)
    }
}

impl From<WebhookSecret> for String {
    fn from(s: WebhookSecret) -> String {
        s.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

/// Where a buyer takes leads: any listed ZIP, or any ZIP of a listed borough.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceArea {
    #[serde(default)]
    pub zips: BTreeSet<ZipCode>,
    #[serde(default)]
    pub boroughs: BTreeSet<Borough>,
}

impl ServiceArea {
    pub fn covers(&self, zip: Option<&ZipCode>, borough: Option<Borough>) -> bool {
        zip.is_some_and(|z| self.zips.contains(z))
            || borough.is_some_and(|b| self.boroughs.contains(&b))
    }

    /// The share of NYC this area reaches, 0..=1, for the routing score's geography term:
    /// a narrow local installer is a better fit for a lead in its area than a citywide one.
    pub fn breadth(&self) -> f64 {
        let boroughs = self.boroughs.len() as f64 / 5.0;
        let zips = self.zips.len() as f64 / 180.0;
        (boroughs + zips).min(1.0)
    }
}

/// Opening hours in the buyer's own time zone: the days it takes leads and the time
/// window on those days (`open` inclusive, `close` exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    pub timezone: Tz,
    pub days: Vec<Weekday>,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl Hours {
    /// Every day, all day, in New York.
    pub fn always() -> Hours {
        Hours {
            timezone: chrono_tz::America::New_York,
            days: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .to_vec(),
            open: NaiveTime::MIN,
            close: NaiveTime::MIN,
        }
    }

    /// Whether `at` falls in the buyer's hours. `open == close` means the whole day.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.timezone);
        if !self.days.contains(&local.weekday()) {
            return false;
        }
        let t = local.time();
        if self.open == self.close {
            true
        } else if self.open < self.close {
            self.open <= t && t < self.close
        } else {
            // Overnight windows, e.g. 20:00–02:00.
            t >= self.open || t < self.close
        }
    }

    /// The buyer's calendar day at `at`: daily caps reset at the buyer's local midnight.
    pub fn local_day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// The buyer's calendar month at `at`, as `(year, month)`.
    pub fn local_month(&self, at: DateTime<Utc>) -> (i32, u32) {
        let d = self.local_day(at);
        (d.year(), d.month())
    }
}

/// A buyer as the router uses it: validated terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buyer {
    pub id: BuyerId,
    pub name: String,
    pub tier: BuyerTier,
    pub price_floor: Cents,
    pub price_cap: Cents,
    /// Leads per local day.
    pub daily_cap: u32,
    /// Spend per local month, when the buyer set one.
    pub monthly_spend_cap: Option<Cents>,
    pub area: ServiceArea,
    pub min_quality: QualityTier,
    pub hours: Hours,
    pub webhook_url: String,
    pub secret: WebhookSecret,
    /// Days after the sale in which the buyer may return the lead for credit.
    pub return_window_days: u16,
    pub active: bool,
    /// A ping-post buyer (an outside marketplace): it is pinged with the anonymised lead
    /// and bids; its price is its bid, and the post goes to `webhook_url` with the ping's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_post: Option<PingPost>,
    /// What else the buyer asked to filter on (property types, bill, co-ops).
    #[serde(default, skip_serializing_if = "LeadFilters::is_empty")]
    pub filters: LeadFilters,
    /// Set while the sales team has paused the buyer: routing skips it and says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<SalesPause>,
    /// Secrets replaced by a rotation, each valid until its time: feedback signed with one
    /// verifies and deliveries carry a signature with each, so the buyer can switch over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_secrets: Vec<RetiringSecret>,
    /// Bumped by every change the sales team saves: two operators editing the same buyer
    /// cannot overwrite each other silently.
    #[serde(default)]
    pub version: u64,
}

/// Lead filters beyond area, tier and hours: what the buyer's installers can serve.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadFilters {
    /// The property types it takes; empty: every type.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    #[schema(value_type = Vec<PropertyType>)]
    pub property_types: BTreeSet<PropertyType>,
    /// The lowest monthly electric bill it takes, in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub min_monthly_bill: Option<Cents>,
    /// Co-operative apartments need the board's approval: many installers do not take them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_coops: bool,
}

impl LeadFilters {
    pub fn is_empty(&self) -> bool {
        self == &LeadFilters::default()
    }

    /// Whether a lead of this property type and bill passes. A buyer that lists property
    /// types or a minimum bill does not take a lead whose type or bill is unknown.
    pub fn admit(
        &self,
        property: Option<PropertyType>,
        bill: Option<Cents>,
    ) -> Result<(), Filtered> {
        if self.exclude_coops && property == Some(PropertyType::Coop) {
            return Err(Filtered::PropertyType);
        }
        if !self.property_types.is_empty()
            && !property.is_some_and(|p| self.property_types.contains(&p))
        {
            return Err(Filtered::PropertyType);
        }
        if let Some(min) = self.min_monthly_bill
            && bill.is_none_or(|b| b < min)
        {
            return Err(Filtered::Bill);
        }
        Ok(())
    }
}

/// Which of [`LeadFilters`] turned a lead away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    PropertyType,
    Bill,
}

/// A pause set by the sales team: who, when and why (shown in the routing trace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SalesPause {
    /// Why, in the team's words (shown in the trace and the console; 1 to 200 characters).
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A secret on its way out after a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiringSecret {
    pub secret: WebhookSecret,
    pub until: DateTime<Utc>,
}

/// How a ping-post buyer bids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingPost {
    /// Where the signed ping goes (the rule of [`check_webhook_url`]).
    pub ping_url: String,
    /// How long it has to answer a ping with a bid, in milliseconds (50..=2000; a few
    /// hundred is the norm of lead exchanges).
    #[serde(default = "PingPost::default_deadline_ms")]
    pub deadline_ms: u32,
}

impl PingPost {
    pub const DEFAULT_DEADLINE_MS: u32 = 300;

    fn default_deadline_ms() -> u32 {
        Self::DEFAULT_DEADLINE_MS
    }

    pub fn deadline(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.deadline_ms))
    }
}

/// One invalid field of one buyer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("buyer {buyer}: {field} {reason}")]
pub struct BuyerError {
    pub buyer: String,
    pub field: &'static str,
    pub reason: String,
}

impl Buyer {
    /// [`Buyer::validate`], and the webhook and ping URLs by the rule of where this
    /// deployment may send ([`Outbound`]): what an import into it applies, so that no buyer
    /// is stored that delivery would refuse.
    pub fn validate_for(&self, outbound: Outbound) -> Result<(), BuyerError> {
        self.validate()?;
        let urls = std::iter::once(("webhook_url", &self.webhook_url))
            .chain(self.ping_post.iter().map(|p| ("ping_url", &p.ping_url)));
        for (field, url) in urls {
            if let Err(problem) = check_webhook_url(url, outbound) {
                return Err(BuyerError {
                    buyer: self.id.to_string(),
                    field,
                    reason: problem.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Checks what the types cannot: the price band, caps, area, hours and webhook (by the
    /// sandbox's rule; [`Buyer::validate_for`] applies a deployment's).
    pub fn validate(&self) -> Result<(), BuyerError> {
        let fail = |field: &'static str, reason: &str| {
            Err(BuyerError {
                buyer: self.id.to_string(),
                field,
                reason: reason.to_owned(),
            })
        };
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return fail("name", "must be 1 to 200 characters");
        }
        if self.price_floor.0 <= 0 {
            return fail("price_floor_cents", "must be positive");
        }
        if self.price_cap < self.price_floor {
            return fail("price_cap_cents", "must be at least the floor");
        }
        if self.price_cap.0 > 1_000_000 {
            return fail("price_cap_cents", "must be at most $10,000 a lead");
        }
        if self.daily_cap == 0 || self.daily_cap > 100_000 {
            return fail("daily_cap", "must be 1 to 100000 leads");
        }
        if let Some(cap) = self.monthly_spend_cap
            && cap < self.price_floor
        {
            return fail(
                "monthly_spend_cap_cents",
                "must cover at least one lead at the floor",
            );
        }
        if self.area.zips.is_empty() && self.area.boroughs.is_empty() {
            return fail("service_area", "must list ZIPs or boroughs");
        }
        if let Some(z) = self.area.zips.iter().find(|z| !z.is_nyc()) {
            return fail(
                "service_area.zips",
                &format!("{} is not a NYC ZIP", z.as_str()),
            );
        }
        if self.min_quality == QualityTier::Unqualified {
            return fail("min_quality", "must be basic, standard or premium");
        }
        if self.hours.days.is_empty() {
            return fail("hours.days", "must list at least one day");
        }
        if let Err(problem) = check_webhook_url(&self.webhook_url, Outbound::Sandbox) {
            return fail("webhook_url", problem);
        }
        if self.return_window_days > 90 {
            return fail("return_window_days", "must be at most 90");
        }
        if let Some(pause) = &self.pause
            && (pause.reason.trim().is_empty() || pause.reason.chars().count() > 200)
        {
            return fail("reason", "must be 1 to 200 characters");
        }
        if let Some(ping) = &self.ping_post {
            if let Err(problem) = check_webhook_url(&ping.ping_url, Outbound::Sandbox) {
                return fail("ping_url", problem);
            }
            if !(50..=2_000).contains(&ping.deadline_ms) {
                return fail("ping_deadline_ms", "must be 50 to 2000 milliseconds");
            }
        }
        Ok(())
    }

    /// Whether the buyer bids per lead (ping-post) rather than paying its tier's price.
    pub fn bids(&self) -> bool {
        self.ping_post.is_some()
    }

    /// The secrets valid at `now`: the current one first, then those a rotation replaced
    /// and whose overlap has not ended. Deliveries are signed with each; feedback verifies
    /// with any.
    pub fn secrets_at(&self, now: DateTime<Utc>) -> Vec<WebhookSecret> {
        std::iter::once(self.secret.clone())
            .chain(
                self.previous_secrets
                    .iter()
                    .filter(|s| s.until > now)
                    .map(|s| s.secret.clone()),
            )
            .collect()
    }

    /// The buyer after a rotation at `now`: `fresh` signs from now on, the current secret
    /// stays valid for `overlap`, and secrets whose overlap ended are dropped.
    pub fn rotated(
        &self,
        fresh: WebhookSecret,
        now: DateTime<Utc>,
        overlap: chrono::Duration,
    ) -> Buyer {
        let mut previous: Vec<RetiringSecret> = self
            .previous_secrets
            .iter()
            .filter(|s| s.until > now)
            .cloned()
            .collect();
        previous.push(RetiringSecret {
            secret: self.secret.clone(),
            until: now + overlap,
        });
        Buyer {
            secret: fresh,
            previous_secrets: previous,
            ..self.clone()
        }
    }
}

/// The buyers that could take a lead in this place at this tier (active, covering it,
/// taking the tier and passing their property and bill filters; not paused by the sales
/// team), by legal name, at most three, the best-paying tier first: the ones
/// the consent question names. Hours and caps are left out: a closed or full buyer may
/// take the lead on a re-offer.
pub fn who_may_call(
    buyers: &[Buyer],
    zip: Option<&ZipCode>,
    borough: Option<Borough>,
    tier: QualityTier,
    property: Option<PropertyType>,
    bill: Option<Cents>,
) -> Vec<NamedSeller> {
    let tier = tier.max(QualityTier::Basic);
    let mut able: Vec<&Buyer> = buyers
        .iter()
        .filter(|b| {
            b.active
                && b.pause.is_none()
                && b.area.covers(zip, borough)
                && b.min_quality <= tier
                && b.filters.admit(property, bill).is_ok()
        })
        .collect();
    able.sort_by(|a, b| {
        b.tier
            .base_price()
            .cmp(&a.tier.base_price())
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    able.into_iter()
        .take(MAX_NAMED)
        .map(|b| NamedSeller {
            buyer_id: b.id.to_string(),
            name: b.name.clone(),
        })
        .collect()
}

/// Buyers a consent question names at most.
pub const MAX_NAMED: usize = 3;

/// Where outbound requests (deliveries, pings) may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outbound {
    /// A deployment: `https` to public hosts only. Loopback, private, link-local,
    /// unique-local, carrier-grade NAT, metadata and other special addresses are refused,
    /// in the URL and again after DNS resolution, and so are internal names.
    #[default]
    Public,
    /// The local sandbox (`aurum serve` on the embedded store, tests): also plain `http`
    /// to loopback, where the sandbox buyers listen.
    Sandbox,
}

/// The one rule for a buyer's webhook URL, applied at import and by every delivery: an
/// absolute `https` URL (with [`Outbound::Sandbox`] also `http` to a loopback address),
/// with a host, no user information, no whitespace, at most 2,000 characters; with
/// [`Outbound::Public`] the host must be a public name or address ([`forbidden_host`]).
pub fn check_webhook_url(url: &str, outbound: Outbound) -> Result<(), &'static str> {
    const RULE: &str = "must be an https:// URL (http:// only on loopback)";
    if url.len() > 2_000 || url.contains(char::is_whitespace) {
        return Err(RULE);
    }
    let uri: hyper::Uri = url.parse().map_err(|_| "is not a valid URL")?;
    let Some(authority) = uri.authority() else {
        return Err(RULE);
    };
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err("must name a host, without user information");
    }
    let host = authority.host();
    match (uri.scheme_str(), outbound) {
        (Some("https"), Outbound::Sandbox) => Ok(()),
        (Some("http"), Outbound::Sandbox) if is_loopback_host(host) => Ok(()),
        (Some("http"), Outbound::Sandbox) => {
            Err("plain http is allowed only to loopback addresses")
        }
        (Some("https"), Outbound::Public) if forbidden_host(host) => Err(
            "must name a public host: loopback, private, link-local, metadata and internal addresses are refused",
        ),
        (Some("https"), Outbound::Public) => Ok(()),
        (Some("http"), Outbound::Public) => Err("must be an https:// URL"),
        _ => Err(RULE),
    }
}

/// `localhost` or a loopback IP address (`127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL's host may not be reached from a deployment: an address in any form a
/// resolver accepts (decimal, octal or hex IPv4, short forms, IPv4-mapped IPv6) that
/// [`forbidden_ip`] refuses, or an internal name (`localhost`, `*.localhost`, `*.local`,
/// `*.internal`, `*.localdomain`, `*.home.arpa`, a single label that a search domain would
/// complete). A trailing dot changes nothing.
pub fn forbidden_host(host: &str) -> bool {
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Some(ip) = host_ip(&bare) {
        return forbidden_ip(ip);
    }
    const INTERNAL: [&str; 5] = [
        ".localhost",
        ".local",
        ".internal",
        ".localdomain",
        ".home.arpa",
    ];
    bare.is_empty()
        || bare == "localhost"
        || !bare.contains('.')
        || INTERNAL.iter().any(|suffix| bare.ends_with(suffix))
}

/// A host written as an IP address, in every form `inet_aton` and URL parsers accept.
fn host_ip(host: &str) -> Option<std::net::IpAddr> {
    use std::net::IpAddr;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip);
    }
    loose_ipv4(host).map(IpAddr::V4)
}

/// `inet_aton`'s IPv4 forms: one to four parts, each decimal, octal (leading 0) or hex
/// (0x), the last filling the remaining bytes (`2130706433`, `0177.1`, `0x7f.0.0.1`).
fn loose_ipv4(host: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let number = |p: &str| -> Option<u64> {
        if p.is_empty() {
            return None;
        }
        if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            return if hex.is_empty() {
                Some(0)
            } else {
                u64::from_str_radix(hex, 16).ok()
            };
        }
        if p.len() > 1 && p.starts_with('0') {
            return u64::from_str_radix(&p[1..], 8).ok();
        }
        p.parse::<u64>().ok()
    };
    let values: Vec<u64> = parts.iter().map(|p| number(p)).collect::<Option<_>>()?;
    let (last, head) = values.split_last()?;
    if head.iter().any(|v| *v > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 64 && *last >= 1u64 << room {
        return None;
    }
    let mut n: u64 = *last;
    for (i, v) in head.iter().enumerate() {
        n |= v << (8 * (3 - i as u32));
    }
    u32::try_from(n).ok().map(std::net::Ipv4Addr::from)
}

/// Addresses a deployment never sends to: unspecified, loopback, private (RFC 1918),
/// carrier-grade NAT, link-local (the instance metadata service among them), IETF and
/// documentation ranges, benchmarking, multicast, reserved and broadcast; for IPv6 also
/// unique-local, link- and site-local, documentation, and any IPv4 address carried in a
/// mapped, compatible or NAT64 form.
pub fn forbidden_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_ip(IpAddr::V4(v4));
            }
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
            if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = std::net::Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                );
                return v6.is_unspecified() || v6.is_loopback() || forbidden_ip(IpAddr::V4(v4));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn given_webhook_urls_then_import_accepts_exactly_what_delivery_can_use() {
        for ok in [
            "https://buyer.example/leads",
            "http://127.0.0.1:8080/leads",
            "http://localhost:8080/leads",
            "http://[::1]:8080/leads",
            "http://127.5.0.1/leads",
        ] {
            assert_eq!(check_webhook_url(ok, Outbound::Sandbox), Ok(()), "{ok}");
        }
        for bad in [
            "http://buyer.example/leads",
            "http://127.0.0.1.buyer.example/leads",
            "http://localhost.buyer.example/leads",
            "http://10.0.0.1/leads",
            "https://user:pass@buyer.example/leads",
            "http://user@127.0.0.1/leads",
            "ftp://buyer.example/leads",
            "https:///leads",
            "/leads",
            "not a url",
            "",
        ] {
            assert!(check_webhook_url(bad, Outbound::Sandbox).is_err(), "{bad}");
        }
    }

    #[test]
    fn given_a_deployment_then_every_form_of_an_internal_address_is_refused() {
        // GIVEN webhook URLs a buyer (or an attacker editing one) could register
        let refused = [
            // loopback in every spelling a resolver accepts
            "https://127.0.0.1/leads",
            "https://127.1/leads",
            "https://2130706433/leads",
            "https://0177.0.0.1/leads",
            "https://0x7f.0.0.1/leads",
            "https://0x7f000001/leads",
            "https://[::1]/leads",
            "https://[::ffff:127.0.0.1]/leads",
            "https://[::ffff:7f00:1]/leads",
            "https://[::127.0.0.1]/leads",
            "https://localhost/leads",
            "https://LOCALHOST./leads",
            "https://api.localhost/leads",
            // private, link-local, metadata, unique-local, carrier-grade NAT, unspecified
            "https://10.0.0.1/leads",
            "https://172.16.5.4:8443/leads",
            "https://192.168.1.1/leads",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00:ec2::254]/latest/meta-data",
            "https://[fe80::1]/leads",
            "https://[64:ff9b::a9fe:a9fe]/leads",
            "https://100.64.0.1/leads",
            "https://0.0.0.0/leads",
            "https://0/leads",
            // internal names, trailing dots
            "https://metadata.google.internal/computeMetadata",
            "https://router.local/leads",
            "https://intranet/leads",
            "https://intranet./leads",
            "https://db.corp.localdomain/leads",
            // userinfo tricks and plain http
            "https://buyer.example@127.0.0.1/leads",
            "https://127.0.0.1#@buyer.example/leads",
            "http://buyer.example/leads",
            "http://127.0.0.1:8080/leads",
        ];
        // WHEN checked by a deployment's rule THEN each is refused
        for url in refused {
            assert!(check_webhook_url(url, Outbound::Public).is_err(), "{url}");
        }
        // AND public hosts, with ports and trailing dots, pass
        for url in [
            "https://buyer.example/leads",
            "https://buyer.example./leads",
            "https://buyer.example:8443/leads",
            "https://8.8.8.8/leads",
            "https://[2606:4700::1111]/leads",
            "https://1.1.1.1.nip.example/leads",
        ] {
            assert_eq!(check_webhook_url(url, Outbound::Public), Ok(()), "{url}");
        }
        // AND a buyer whose ping URL is internal cannot be imported into a deployment
        let mut b = buyer();
        b.ping_post = Some(PingPost {
            ping_url: "https://169.254.169.254/bid".into(),
            deadline_ms: 300,
        });
        assert_eq!(b.validate(), Ok(()), "the sandbox's rule");
        assert_eq!(
            b.validate_for(Outbound::Public)
                .expect_err("internal")
                .field,
            "ping_url"
        );
    }

    #[test]
    fn given_a_ping_post_buyer_with_a_bad_ping_url_or_deadline_then_it_is_refused_naming_the_field()
    {
        let with = |ping_url: &str, deadline_ms: u32| Buyer {
            ping_post: Some(PingPost {
                ping_url: ping_url.into(),
                deadline_ms,
            }),
            ..buyer()
        };
        assert_eq!(with("https://ping.example/bid", 300).validate(), Ok(()));
        for (bad, field) in [
            (with("http://ping.example/bid", 300), "ping_url"),
            (with("https://user@ping.example/bid", 300), "ping_url"),
            (with("https://ping.example/bid", 10), "ping_deadline_ms"),
            (with("https://ping.example/bid", 60_000), "ping_deadline_ms"),
        ] {
            assert_eq!(bad.validate().map_err(|e| e.field), Err(field));
        }
    }

    #[test]
    fn given_buyers_then_the_consent_question_names_at_most_three_that_could_take_the_lead() {
        let make = |id: &str, tier, min_quality, active| Buyer {
            id: BuyerId::parse(id).expect("id"),
            name: format!("{id} LLC"),
            tier,
            min_quality,
            active,
            area: ServiceArea {
                zips: BTreeSet::new(),
                boroughs: [Borough::Brooklyn].into(),
            },
            ..buyer()
        };
        let buyers = [
            make("volume", BuyerTier::Volume, QualityTier::Basic, true),
            make("premium", BuyerTier::Premium, QualityTier::Basic, true),
            make("picky", BuyerTier::Premium, QualityTier::Premium, true),
            make("paused", BuyerTier::Direct, QualityTier::Basic, false),
            make("direct", BuyerTier::Direct, QualityTier::Basic, true),
            make("standard", BuyerTier::Standard, QualityTier::Basic, true),
        ];
        let named: Vec<String> = who_may_call(
            &buyers,
            None,
            Some(Borough::Brooklyn),
            QualityTier::Standard,
            None,
            None,
        )
        .into_iter()
        .map(|s| s.buyer_id)
        .collect();
        // The best-paying tiers first; not the inactive one, not one above the lead's tier.
        assert_eq!(named, ["premium", "direct", "standard"]);
        assert!(
            who_may_call(
                &buyers,
                None,
                Some(Borough::Queens),
                QualityTier::Basic,
                None,
                None
            )
            .is_empty()
        );
    }

    pub(crate) fn buyer() -> Buyer {
        Buyer {
            filters: Default::default(),
            pause: None,
            previous_secrets: Vec::new(),
            version: 0,
            id: BuyerId::parse("solarreviews").expect("id"),
            name: "SolarReviews".into(),
            tier: BuyerTier::Premium,
            price_floor: Cents(20_000),
            price_cap: Cents(40_000),
            daily_cap: 40,
            monthly_spend_cap: None,
            area: ServiceArea {
                zips: BTreeSet::new(),
                boroughs: Borough::ALL.into(),
            },
            min_quality: QualityTier::Standard,
            hours: Hours::always(),
            webhook_url: "https://buyer.example/leads".into(),
            secret: WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret"),
            return_window_days: 7,
            active: true,
            ping_post: None,
        }
    }

    #[test]
    fn given_the_spec_tiers_then_base_prices_follow_it() {
        let prices: Vec<i64> = BuyerTier::ALL.iter().map(|t| t.base_price().0).collect();
        assert_eq!(prices, [25_000, 12_500, 7_500, 18_000]);
    }

    #[test]
    fn given_a_secret_when_printed_then_the_key_never_shows() {
        let b = buyer();
        let text = format!("{b:?}");
        assert!(!text.contains("C2FVsBQIhrscChlQIMV"), "{text}");
        assert!(WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(WebhookSecret::parse("whsec_short").is_err());
        assert!(WebhookSecret::parse("whsec_!!!!").is_err());
    }

    #[test]
    fn given_bad_terms_when_validated_then_the_field_is_named() {
        let mut b = buyer();
        b.price_cap = Cents(10_000);
        assert_eq!(
            b.validate().expect_err("cap below floor").field,
            "price_cap_cents"
        );
        let mut b = buyer();
        b.area = ServiceArea::default();
        assert_eq!(b.validate().expect_err("no area").field, "service_area");
        let mut b = buyer();
        b.area.zips.insert(ZipCode::parse("07030").expect("zip"));
        assert_eq!(b.validate().expect_err("NJ zip").field, "service_area.zips");
        let mut b = buyer();
        b.webhook_url = "http://buyer.example/leads".into();
        assert_eq!(b.validate().expect_err("plain http").field, "webhook_url");
        let mut b = buyer();
        b.daily_cap = 0;
        assert_eq!(b.validate().expect_err("no cap").field, "daily_cap");
        assert_eq!(buyer().validate(), Ok(()));
    }

    #[test]
    fn given_business_hours_when_checked_then_the_buyers_own_zone_and_days_count() {
        let mut h = Hours::always();
        h.timezone = chrono_tz::America::Los_Angeles;
        h.days = vec![Weekday::Mon, Weekday::Tue];
        h.open = NaiveTime::from_hms_opt(9, 0, 0).expect("t");
        h.close = NaiveTime::from_hms_opt(17, 0, 0).expect("t");
        // Monday 2026-06-01 16:59 UTC = 09:59 in Los Angeles: open.
        let monday = Utc
            .with_ymd_and_hms(2026, 6, 1, 16, 59, 0)
            .single()
            .expect("t");
        assert!(h.is_open(monday));
        // 15:59 UTC = 08:59 local: not yet.
        assert!(!h.is_open(monday - chrono::Duration::hours(1)));
        // Wednesday: closed all day.
        assert!(!h.is_open(monday + chrono::Duration::days(2)));
        // The buyer's day: 2026-06-02 03:00 UTC is still Monday in Los Angeles.
        let late = Utc
            .with_ymd_and_hms(2026, 6, 2, 3, 0, 0)
            .single()
            .expect("t");
        assert_eq!(
            h.local_day(late),
            NaiveDate::from_ymd_opt(2026, 6, 1).expect("d")
        );
    }

    #[test]
    fn given_an_area_then_it_covers_its_zips_and_boroughs_only() {
        let area = ServiceArea {
            zips: [ZipCode::parse("11215").expect("zip")].into(),
            boroughs: [Borough::Queens].into(),
        };
        let park_slope = ZipCode::parse("11215").expect("zip");
        let astoria = ZipCode::parse("11105").expect("zip");
        assert!(area.covers(Some(&park_slope), Some(Borough::Brooklyn)));
        assert!(area.covers(Some(&astoria), Some(Borough::Queens)));
        assert!(!area.covers(None, Some(Borough::Bronx)));
        assert!(area.breadth() < 0.3);
    }
}
