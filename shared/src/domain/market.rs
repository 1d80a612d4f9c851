//! NYC market data (ZIP → borough/neighbourhood, borough adoption and income, seasonal
//! factors, sizing assumptions), parsed once from `data/nyc-market.json`.
//!
//! The data file names its sources and the confidence of every figure; this module only
//! loads it, indexes it and answers lookups. Nothing here reads a clock or the network.

use super::facts::{Borough, Place, PropertyType};
use super::money::Cents;
use chrono::NaiveDate;
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

const MARKET_JSON: &str = include_str!("../../data/nyc-market.json");

// Holds the error rather than panicking: `domain::init()` reports it once, at start-up.
static MARKET: LazyLock<Result<MarketData, MarketError>> =
    LazyLock::new(|| MarketData::from_json(MARKET_JSON));

/// The NYC market data shipped with the crate (parsed on first use), or why it could not
/// be loaded.
pub fn try_market() -> Result<&'static MarketData, &'static MarketError> {
    MARKET.as_ref()
}

/// The NYC market data shipped with the crate, parsed on first use.
///
/// # Panics
/// If the embedded file is invalid. Start-up calls `domain::init()`, which reports that
/// and stops the process before any request can get here.
pub fn market() -> &'static MarketData {
    match try_market() {
        Ok(m) => m,
        Err(e) => panic!(
            "data/nyc-market.json could not be loaded ({e}); domain::init() should have stopped start-up"
        ),
    }
}

/// Whether the ZIP is in the NYC table (ZIPs that straddle the Nassau line count; see
/// [`ZipInfo::partly_outside_nyc`]).
pub fn is_nyc_zip(zip: &str) -> bool {
    market().zip(zip).is_some()
}

#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error("market data is not valid JSON for its schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("market data is inconsistent: {0}")]
    Invalid(String),
    #[error("place-name matcher could not be built: {0}")]
    Regex(#[from] regex::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Low,
    Medium,
    High,
}

/// A source named in the data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub reference: String,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub used_for: Vec<String>,
    /// H, M, L or a range such as "M-H".
    pub confidence: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Con Edison customer solar projects in a borough at a date (all sectors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolarCount {
    pub as_of: NaiveDate,
    pub projects: u32,
    /// Capacity in MW where the source gives it (a measurement, never money).
    #[serde(default)]
    pub mw: Option<f64>,
    /// Id of an entry in [`MarketData::sources`].
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoroughStats {
    pub borough: Borough,
    /// From the latest Con Ed project count (method in the data file's `levels_method`).
    pub adoption: Level,
    pub income: Level,
    /// An inference (confidence L); see `installer_density_basis`.
    pub installer_density: Level,
    pub median_income_usd: u32,
    pub income_confidence: String,
    pub solar_projects_latest: u32,
    pub solar_projects_latest_as_of: NaiveDate,
    pub con_ed_solar_projects: Vec<SolarCount>,
    pub installer_density_basis: String,
    /// Typical housing (co-ops, brownstones, detached houses…) and what it means for solar.
    pub housing_note: String,
    /// Facts the reply agent may say as written.
    pub talking_points: Vec<String>,
    /// Lowercase names for the borough in free text ("the bronx", "kings county").
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighborhoodKind {
    /// A neighbourhood group of the source ZIP table (e.g. "Northwest Brooklyn").
    Group,
    /// A neighbourhood people name in chat (e.g. "Park Slope").
    Neighborhood,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighborhood {
    pub slug: String,
    pub name: String,
    pub borough: Borough,
    pub kind: NeighborhoodKind,
    /// For a finer neighbourhood, the slug of the source group it sits in.
    pub group: Option<String>,
    pub premium: bool,
    /// ZIPs that mainly serve it (a ZIP may serve several neighbourhoods).
    pub zips: Vec<String>,
    /// Lowercase; spaces, hyphens, dots and apostrophes are interchangeable when matching.
    pub aliases: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZipInfo {
    pub zip: String,
    pub borough: Borough,
    /// Slug of the neighbourhood the ZIP mainly serves (a [`Neighborhood`] slug).
    pub neighborhood: String,
    pub neighborhood_name: String,
    pub premium: bool,
    /// Slug of the source CSV's neighbourhood group.
    pub group: String,
    /// `false` for the gaps this project added to the source table.
    pub in_source_csv: bool,
    /// The ZIP straddles the Queens/Nassau line (11001, 11040): part of it is outside NYC.
    pub partly_outside_nyc: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Largest system, in kW, that usually fits each kind of NYC property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxKw {
    pub single_family: u32,
    pub multi_family: u32,
    pub townhouse: u32,
    pub condo: u32,
    pub coop: u32,
    /// Property type not known yet.
    pub unknown: u32,
}

/// System sizing and savings assumptions (sources and bases are in the data file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizing {
    pub price_cents_per_kwh: u32,
    pub summer_price_cents_per_kwh: u32,
    pub yield_kwh_per_kw_year: u32,
    pub offset_percent: u32,
    pub installed_cost_cents_per_watt: u32,
    pub max_kw: MaxKw,
}

/// What a monthly bill implies for a system, all in integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SystemEstimate {
    /// Yearly use implied by the bill at the Con Ed price.
    pub annual_use_kwh: u32,
    /// Recommended size in watts (rounded to 100 W), capped by the property type.
    pub system_watts: u32,
    /// The roof cap for the property type was lower than the size the bill asks for.
    pub capped_by_roof: bool,
    pub annual_production_kwh: u32,
    /// Production (up to use) valued at the Con Ed price, before incentives.
    pub annual_savings: Cents,
    /// Before incentives.
    pub installed_cost: Cents,
}

impl SystemEstimate {
    /// The size in kW with one decimal ("5.6"), as the agent says it.
    pub fn system_kw(&self) -> String {
        let tenths = self.system_watts / 100;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

impl Sizing {
    pub fn max_kw(&self, p: Option<PropertyType>) -> u32 {
        match p {
            Some(PropertyType::SingleFamily) => self.max_kw.single_family,
            Some(PropertyType::MultiFamily) => self.max_kw.multi_family,
            Some(PropertyType::Townhouse) => self.max_kw.townhouse,
            Some(PropertyType::Condo) => self.max_kw.condo,
            Some(PropertyType::Coop) => self.max_kw.coop,
            None => self.max_kw.unknown,
        }
    }

    /// [`Sizing::max_kw`] in tenths of a kW (60 = 6.0 kW).
    pub fn max_kw_tenths(&self, p: Option<PropertyType>) -> u32 {
        self.max_kw(p).saturating_mul(10)
    }

    pub fn max_watts(&self, p: Option<PropertyType>) -> u32 {
        self.max_kw(p).saturating_mul(1_000)
    }

    /// annual kWh = bill / price × 12; watts = kWh × offset / yield, capped for the property.
    pub fn estimate(&self, monthly_bill: Cents, p: Option<PropertyType>) -> SystemEstimate {
        let bill = u64::try_from(monthly_bill.0).unwrap_or(0);
        let price = u64::from(self.price_cents_per_kwh.max(1));
        let yield_kwh = u64::from(self.yield_kwh_per_kw_year.max(1));
        let annual_use = div_round(bill.saturating_mul(12), price);
        // kWh × offset% / yield kWh-per-kW → kW; × 1000 → W.
        let needed_w = div_round(
            annual_use
                .saturating_mul(u64::from(self.offset_percent))
                .saturating_mul(10),
            yield_kwh,
        );
        let needed_w = div_round(needed_w, 100).saturating_mul(100);
        let cap_w = u64::from(self.max_watts(p));
        let system_w = needed_w.min(cap_w);
        let production = div_round(system_w.saturating_mul(yield_kwh), 1_000);
        let savings = production.min(annual_use).saturating_mul(price);
        let cost = system_w.saturating_mul(u64::from(self.installed_cost_cents_per_watt));
        SystemEstimate {
            annual_use_kwh: to_u32(annual_use),
            system_watts: to_u32(system_w),
            capped_by_roof: needed_w > cap_w,
            annual_production_kwh: to_u32(production),
            annual_savings: Cents(i64::try_from(savings).unwrap_or(i64::MAX)),
            installed_cost: Cents(i64::try_from(cost).unwrap_or(i64::MAX)),
        }
    }
}

fn div_round(n: u64, d: u64) -> u64 {
    n.saturating_add(d / 2).checked_div(d).unwrap_or(0)
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a matched alias points at.
#[derive(Debug, Clone, Copy)]
struct AliasTarget {
    borough: Borough,
    neighborhood: Option<&'static str>,
    /// 2 finer neighbourhood, 1 source group, 0 borough: the most specific wins.
    rank: u8,
}

pub struct MarketData {
    sources: Vec<Source>,
    /// In `Borough::ALL` order.
    boroughs: Vec<BoroughStats>,
    citywide_talking_points: Vec<String>,
    seasonal_bps: [u32; 12],
    sizing: Sizing,
    neighborhoods: Vec<Neighborhood>,
    neighborhood_index: HashMap<String, usize>,
    zips: Vec<ZipInfo>,
    /// Index into `zips` by ZIP number minus `zip_base` (`u16::MAX`: not in the table), one
    /// slot per number between the lowest and the highest ZIP: the ZIP is looked up
    /// several times a turn (once per scoring of the lead).
    zip_slots: Vec<u16>,
    zip_base: u32,
    /// Over bytes: a match starts and ends on an alias's ASCII letter or digit.
    place_regex: Regex,
    /// Alias with everything but `[a-z0-9]` removed → target.
    alias_targets: HashMap<String, AliasTarget>,
}

/// "11215" → 11215; `None` unless exactly five ASCII digits (the only form in the table).
fn zip_number(zip: &str) -> Option<u32> {
    let b = zip.as_bytes();
    if b.len() != 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')))
}

impl std::fmt::Debug for MarketData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketData")
            .field("sources", &self.sources.len())
            .field("neighborhoods", &self.neighborhoods.len())
            .field("zips", &self.zips.len())
            .finish_non_exhaustive()
    }
}

// ---- file schema -------------------------------------------------------------------

#[derive(Deserialize)]
struct RawFile<'a> {
    sources: Vec<Source>,
    boroughs: Vec<BoroughStats>,
    #[serde(default)]
    citywide_talking_points: Vec<String>,
    seasonal_factors: RawSeasonal,
    sizing: Sizing,
    #[serde(borrow)]
    neighborhoods: Vec<RawNeighborhood<'a>>,
    zips: Vec<ZipInfo>,
}

#[derive(Deserialize)]
struct RawSeasonal {
    months_bps: Vec<u32>,
}

#[derive(Deserialize)]
struct RawNeighborhood<'a> {
    /// Borrowed from the embedded `'static` file so [`Place`] can hand out `&'static str`.
    slug: &'a str,
    name: String,
    borough: Borough,
    kind: NeighborhoodKind,
    #[serde(default)]
    group: Option<String>,
    premium: bool,
    #[serde(default)]
    zips: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

fn borough_index(b: Borough) -> usize {
    match b {
        Borough::Manhattan => 0,
        Borough::Brooklyn => 1,
        Borough::Queens => 2,
        Borough::Bronx => 3,
        Borough::StatenIsland => 4,
    }
}

/// Alias key: the ASCII letters and digits only ("Bed-Stuy" and "bed stuy" → "bedstuy").
fn alias_key(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Regex for one alias: its words with up to three separator bytes (space, hyphen, dot,
/// apostrophe…; the extractor makes quotes and dashes ASCII) or none between them. Bytes,
/// not characters: a Unicode "any other character" class is a large automaton, and the
/// place matcher was most of the market table's start-up cost.
fn alias_pattern(alias: &str) -> String {
    alias
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| regex::escape(&t.to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join("(?-u:[^a-z0-9]){0,3}")
}

fn invalid(msg: String) -> MarketError {
    MarketError::Invalid(msg)
}

/// The sizing numbers divide and multiply bills: none may be zero or absurd.
fn check_sizing(s: &Sizing) -> Result<(), MarketError> {
    let positive = [
        ("price_cents_per_kwh", s.price_cents_per_kwh, 1_000),
        (
            "summer_price_cents_per_kwh",
            s.summer_price_cents_per_kwh,
            1_000,
        ),
        ("yield_kwh_per_kw_year", s.yield_kwh_per_kw_year, 3_000),
        ("offset_percent", s.offset_percent, 100),
        (
            "installed_cost_cents_per_watt",
            s.installed_cost_cents_per_watt,
            10_000,
        ),
    ];
    for (name, value, max) in positive {
        if !(1..=max).contains(&value) {
            return Err(invalid(format!(
                "sizing.{name} is {value}; must be between 1 and {max}"
            )));
        }
    }
    let k = s.max_kw;
    for (name, kw) in [
        ("single_family", k.single_family),
        ("multi_family", k.multi_family),
        ("townhouse", k.townhouse),
        ("condo", k.condo),
        ("coop", k.coop),
        ("unknown", k.unknown),
    ] {
        if !(1..=1_000).contains(&kw) {
            return Err(invalid(format!(
                "sizing.max_kw.{name} is {kw}; must be between 1 and 1000"
            )));
        }
    }
    Ok(())
}

impl MarketData {
    /// Parses and indexes a market data file. The text must be `'static` (the embedded
    /// file) because neighbourhood slugs in [`Place`] borrow from it.
    pub fn from_json(json: &'static str) -> Result<MarketData, MarketError> {
        let raw: RawFile<'static> = serde_json::from_str(json)?;

        if raw.sources.is_empty() {
            return Err(invalid("no sources".into()));
        }
        let mut boroughs = Vec::with_capacity(Borough::ALL.len());
        for b in Borough::ALL {
            let mut found = raw.boroughs.iter().filter(|s| s.borough == b);
            let stats = found
                .next()
                .ok_or_else(|| invalid(format!("borough {b} missing")))?;
            if found.next().is_some() {
                return Err(invalid(format!("borough {b} listed twice")));
            }
            boroughs.push(stats.clone());
        }
        let seasonal_bps: [u32; 12] = raw
            .seasonal_factors
            .months_bps
            .as_slice()
            .try_into()
            .map_err(|_| invalid("seasonal_factors.months_bps must have 12 values".into()))?;

        if seasonal_bps.iter().any(|&b| !(1..=30_000).contains(&b)) {
            return Err(invalid(
                "seasonal_factors.months_bps must each be between 1 and 30000".into(),
            ));
        }
        check_sizing(&raw.sizing)?;

        let mut neighborhoods = Vec::with_capacity(raw.neighborhoods.len());
        let mut neighborhood_index = HashMap::with_capacity(raw.neighborhoods.len());
        let mut static_slugs: Vec<&'static str> = Vec::with_capacity(raw.neighborhoods.len());
        for n in raw.neighborhoods {
            if neighborhood_index
                .insert(n.slug.to_owned(), neighborhoods.len())
                .is_some()
            {
                return Err(invalid(format!("neighbourhood {} listed twice", n.slug)));
            }
            static_slugs.push(n.slug);
            neighborhoods.push(Neighborhood {
                slug: n.slug.to_owned(),
                name: n.name,
                borough: n.borough,
                kind: n.kind,
                group: n.group,
                premium: n.premium,
                zips: n.zips,
                aliases: n.aliases,
                note: n.note,
            });
        }

        let mut zip_index = HashMap::with_capacity(raw.zips.len());
        for (i, z) in raw.zips.iter().enumerate() {
            if zip_number(&z.zip).is_none() {
                return Err(invalid(format!("ZIP {:?} is not five digits", z.zip)));
            }
            if zip_index.insert(z.zip.clone(), i).is_some() {
                return Err(invalid(format!("ZIP {} listed twice", z.zip)));
            }
            match neighborhood_index
                .get(&z.neighborhood)
                .map(|&i| &neighborhoods[i])
            {
                Some(n) if n.borough == z.borough => {}
                Some(_) => {
                    return Err(invalid(format!(
                        "ZIP {}: neighbourhood in another borough",
                        z.zip
                    )));
                }
                None => {
                    return Err(invalid(format!(
                        "ZIP {}: unknown neighbourhood {}",
                        z.zip, z.neighborhood
                    )));
                }
            }
        }

        // Place-name matcher: every alias of every neighbourhood and borough.
        let mut alias_targets: HashMap<String, AliasTarget> = HashMap::new();
        let mut patterns: Vec<(usize, String)> = Vec::new();
        let mut add = |alias: &str, target: AliasTarget| -> Result<(), MarketError> {
            let key = alias_key(alias);
            if key.is_empty() {
                return Err(invalid(format!("empty alias {alias:?}")));
            }
            match alias_targets.get(&key) {
                Some(t) if t.neighborhood != target.neighborhood || t.borough != target.borough => {
                    return Err(invalid(format!("alias {alias:?} names two places")));
                }
                Some(_) => {}
                None => {
                    alias_targets.insert(key.clone(), target);
                }
            }
            patterns.push((key.len(), alias_pattern(alias)));
            Ok(())
        };
        for stats in &boroughs {
            for alias in &stats.aliases {
                add(
                    alias,
                    AliasTarget {
                        borough: stats.borough,
                        neighborhood: None,
                        rank: 0,
                    },
                )?;
            }
        }
        for (n, slug) in neighborhoods.iter().zip(&static_slugs) {
            let rank = match n.kind {
                NeighborhoodKind::Neighborhood => 2,
                NeighborhoodKind::Group => 1,
            };
            for alias in &n.aliases {
                add(
                    alias,
                    AliasTarget {
                        borough: n.borough,
                        neighborhood: Some(slug),
                        rank,
                    },
                )?;
            }
        }
        // Longest first: at one position the alternation takes the first alternative that
        // matches, so "manhattan beach" wins over "manhattan".
        patterns.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        patterns.dedup_by(|a, b| a.1 == b.1);
        let alternation = patterns
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join("|");
        // ASCII word boundaries: aliases are ASCII, and this keeps the fast DFA engines.
        let place_regex = Regex::new(&format!(r"(?-u:\b)(?:{alternation})(?-u:\b)"))?;

        let numbered: Vec<(u32, usize)> = zip_index
            .into_iter()
            .filter_map(|(zip, i)| zip_number(&zip).map(|n| (n, i)))
            .collect();
        let zip_base = numbered.iter().map(|&(n, _)| n).min().unwrap_or(0);
        let zip_top = numbered.iter().map(|&(n, _)| n).max().unwrap_or(0);
        if numbered.len() >= usize::from(u16::MAX) || zip_top - zip_base >= 20_000 {
            return Err(invalid(
                "the ZIPs span more than the New York City range".into(),
            ));
        }
        let mut zip_slots = vec![u16::MAX; (zip_top - zip_base) as usize + 1];
        for (n, i) in numbered {
            zip_slots[(n - zip_base) as usize] = u16::try_from(i).unwrap_or(u16::MAX);
        }

        Ok(MarketData {
            sources: raw.sources,
            boroughs,
            citywide_talking_points: raw.citywide_talking_points,
            seasonal_bps,
            sizing: raw.sizing,
            neighborhoods,
            neighborhood_index,
            zips: raw.zips,
            zip_slots,
            zip_base,
            place_regex,
            alias_targets,
        })
    }

    pub fn zip(&self, zip: &str) -> Option<&ZipInfo> {
        let slot = zip_number(zip.trim())?.checked_sub(self.zip_base)?;
        match self.zip_slots.get(slot as usize) {
            Some(&i) if i != u16::MAX => self.zips.get(usize::from(i)),
            _ => None,
        }
    }

    /// Every ZIP in the table, in ascending order.
    pub fn zips(&self) -> &[ZipInfo] {
        &self.zips
    }

    pub fn borough(&self, b: Borough) -> &BoroughStats {
        &self.boroughs[borough_index(b)]
    }

    pub fn neighborhood(&self, slug: &str) -> Option<&Neighborhood> {
        self.neighborhood_index
            .get(slug)
            .map(|&i| &self.neighborhoods[i])
    }

    pub fn neighborhoods(&self) -> &[Neighborhood] {
        &self.neighborhoods
    }

    /// First neighbourhood alias or borough name found in already-lowercased free text,
    /// on word boundaries. A finer neighbourhood beats a source group, which beats a
    /// borough; among equals the earliest mention wins, and at one position the longest
    /// alias ("manhattan beach" over "manhattan").
    pub fn find_place(&self, text_lower: &str) -> Option<Place> {
        let mut best: Option<AliasTarget> = None;
        for m in self.place_regex.find_iter(text_lower.as_bytes()) {
            let Some(target) = std::str::from_utf8(m.as_bytes())
                .ok()
                .and_then(|found| self.alias_targets.get(&alias_key(found)))
            else {
                continue;
            };
            if best.is_none_or(|b| target.rank > b.rank) {
                best = Some(*target);
                if target.rank == 2 {
                    break;
                }
            }
        }
        best.map(|t| Place {
            borough: t.borough,
            neighborhood: t.neighborhood,
        })
    }

    /// Installation-demand multiplier for a month (1..=12) in basis points (10 000 = 1.0);
    /// a month outside 1..=12 gets the neutral 10 000.
    pub fn seasonal_factor_bps(&self, month: u32) -> u32 {
        usize::try_from(month)
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|i| self.seasonal_bps.get(i))
            .copied()
            .unwrap_or(10_000)
    }

    pub fn sizing(&self) -> &Sizing {
        &self.sizing
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Citywide facts (Con Ed price, EIA state average, NYC yield) the agent may say.
    pub fn citywide_talking_points(&self) -> &[String] {
        &self.citywide_talking_points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn place(b: Borough, n: Option<&'static str>) -> Option<Place> {
        Some(Place {
            borough: b,
            neighborhood: n,
        })
    }

    fn borough_for_prefix(zip: &str) -> Option<Borough> {
        match &zip[..3] {
            "100" | "101" | "102" => Some(Borough::Manhattan),
            "103" => Some(Borough::StatenIsland),
            "104" => Some(Borough::Bronx),
            "112" => Some(Borough::Brooklyn),
            "110" | "111" | "113" | "114" | "116" => Some(Borough::Queens),
            _ => None,
        }
    }

    #[test]
    fn given_embedded_file_when_parsed_then_it_loads() {
        // GIVEN the embedded data file WHEN parsed THEN it is valid and fully indexed.
        let m = MarketData::from_json(MARKET_JSON).expect("embedded market data parses");
        assert_eq!(m.zips().len(), market().zips().len());
        assert!(!m.sources().is_empty());
    }

    /// The embedded file with one piece of text replaced, leaked to get `'static`.
    fn embedded_with(from: &str, to: &str) -> &'static str {
        assert!(MARKET_JSON.contains(from), "{from:?} not in the data file");
        Box::leak(MARKET_JSON.replacen(from, to, 1).into_boxed_str())
    }

    #[test]
    fn given_a_bad_file_when_parsed_then_the_reason_is_returned_not_panicked() {
        let zero_price = embedded_with(
            r#""price_cents_per_kwh": 32"#,
            r#""price_cents_per_kwh": 0"#,
        );
        let err = MarketData::from_json(zero_price).expect_err("zero price");
        assert!(
            err.to_string().contains("sizing.price_cents_per_kwh"),
            "{err}"
        );
        let err = MarketData::from_json("{").expect_err("truncated");
        assert!(matches!(err, MarketError::Json(_)), "{err}");
        assert!(try_market().is_ok());
    }

    #[test]
    fn given_a_zip_when_looked_up_then_only_its_own_five_digits_find_its_entry() {
        let m = market();
        for z in m.zips() {
            let found = m.zip(&z.zip).map(|f| f.zip.as_str());
            assert_eq!(found, Some(z.zip.as_str()));
            assert_eq!(
                m.zip(&format!(" {} ", z.zip)).map(|f| f.zip.as_str()),
                found
            );
        }
        for not_one in [
            "",
            "1121",
            "112150",
            "11215-1234",
            "1121a",
            "99999",
            "00000",
        ] {
            assert!(m.zip(not_one).is_none(), "{not_one:?}");
        }
    }

    #[test]
    fn given_zip_table_then_it_covers_the_csv_and_the_gaps_with_consistent_boroughs() {
        let m = market();
        assert!(m.zips().len() >= 182, "{} ZIPs", m.zips().len());
        for (gap, borough) in [
            ("11249", Borough::Brooklyn),
            ("10282", Borough::Manhattan),
            ("10069", Borough::Manhattan),
            ("11109", Borough::Queens),
        ] {
            let z = m.zip(gap).unwrap_or_else(|| panic!("gap {gap} missing"));
            assert_eq!(z.borough, borough, "{gap}");
            assert!(!z.in_source_csv);
        }
        let mut seen = HashSet::new();
        for z in m.zips() {
            assert!(seen.insert(z.zip.as_str()), "duplicate {}", z.zip);
            assert!(
                z.zip.len() == 5 && z.zip.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                z.zip
            );
            assert_eq!(
                borough_for_prefix(&z.zip),
                Some(z.borough),
                "{} prefix vs borough",
                z.zip
            );
            let n = m
                .neighborhood(&z.neighborhood)
                .unwrap_or_else(|| panic!("{}: slug", z.zip));
            assert_eq!(n.borough, z.borough, "{}", z.zip);
            assert_eq!(n.name, z.neighborhood_name, "{}", z.zip);
            assert_eq!(
                n.premium, z.premium,
                "{}: premium follows its neighbourhood",
                z.zip
            );
            let g = m
                .neighborhood(&z.group)
                .unwrap_or_else(|| panic!("{}: group", z.zip));
            assert_eq!(g.kind, NeighborhoodKind::Group);
            assert!(g.zips.contains(&z.zip), "{} not in its group's zips", z.zip);
        }
        assert_eq!(m.zips().iter().filter(|z| z.in_source_csv).count(), 178);
        // Edge cases from the source README.
        assert_eq!(m.zip("10463").map(|z| z.borough), Some(Borough::Bronx));
        assert!(
            m.zip("10463")
                .and_then(|z| z.note.as_deref())
                .is_some_and(|n| n.contains("Marble Hill"))
        );
        for straddle in ["11001", "11040"] {
            assert!(
                m.zip(straddle)
                    .is_some_and(|z| z.partly_outside_nyc && z.note.is_some())
            );
        }
        assert!(m.zips().iter().filter(|z| z.partly_outside_nyc).count() == 2);
        assert!(is_nyc_zip("11215") && is_nyc_zip(" 10021 "));
        assert!(!is_nyc_zip("07030") && !is_nyc_zip("11530") && !is_nyc_zip(""));
    }

    #[test]
    fn given_neighbourhoods_then_zips_and_groups_are_consistent() {
        let m = market();
        assert!(m.neighborhoods().len() >= 80);
        for n in m.neighborhoods() {
            assert!(
                !n.slug.is_empty() && n.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            for z in &n.zips {
                let info = m
                    .zip(z)
                    .unwrap_or_else(|| panic!("{}: ZIP {z} not in table", n.slug));
                assert_eq!(info.borough, n.borough, "{}: ZIP {z}", n.slug);
            }
            for a in &n.aliases {
                assert_eq!(a, &a.to_lowercase(), "{}: alias {a}", n.slug);
            }
            match n.kind {
                NeighborhoodKind::Group => assert!(n.group.is_none()),
                NeighborhoodKind::Neighborhood => {
                    let g = n.group.as_deref().and_then(|g| m.neighborhood(g));
                    assert!(g.is_some_and(
                        |g| g.kind == NeighborhoodKind::Group && g.borough == n.borough
                    ));
                    assert!(!n.aliases.is_empty(), "{} cannot be named", n.slug);
                }
            }
        }
        let groups = m
            .neighborhoods()
            .iter()
            .filter(|n| n.kind == NeighborhoodKind::Group)
            .count();
        assert_eq!(groups, 42);
        for slug in [
            "park_slope",
            "upper_east_side",
            "upper_west_side",
            "tribeca",
            "bay_ridge",
            "forest_hills",
        ] {
            assert!(
                m.neighborhood(slug).is_some_and(|n| n.premium),
                "{slug} premium"
            );
        }
        assert!(m.neighborhood("bushwick").is_some_and(|n| !n.premium));
    }

    #[test]
    fn given_boroughs_then_stats_talking_points_and_sources_are_present() {
        let m = market();
        for b in Borough::ALL {
            let s = m.borough(b);
            assert_eq!(s.borough, b);
            assert!(s.median_income_usd > 0 && s.solar_projects_latest > 0);
            assert!(!s.talking_points.is_empty() && !s.housing_note.is_empty());
            assert!(
                s.con_ed_solar_projects
                    .iter()
                    .any(|c| c.projects == s.solar_projects_latest)
            );
            for c in &s.con_ed_solar_projects {
                assert!(
                    m.sources().iter().any(|src| src.id == c.source),
                    "{b}: source {}",
                    c.source
                );
            }
        }
        assert_eq!(m.borough(Borough::Queens).solar_projects_latest, 22_874);
        assert_eq!(m.borough(Borough::Queens).adoption, Level::High);
        assert_eq!(m.borough(Borough::Manhattan).adoption, Level::Low);
        assert_eq!(m.borough(Borough::Manhattan).income, Level::High);
        assert_eq!(m.borough(Borough::Bronx).income, Level::Low);
        assert!(
            m.sources()
                .iter()
                .any(|s| s.licence.as_deref().is_some_and(|l| l.starts_with("MIT")))
        );
        assert!(
            m.sources()
                .iter()
                .all(|s| !s.confidence.is_empty() && !s.reference.is_empty())
        );
    }

    #[test]
    fn given_seasonal_factors_then_spring_summer_beat_winter_and_bad_months_are_neutral() {
        let m = market();
        let all: Vec<u32> = (1..=12).map(|mo| m.seasonal_factor_bps(mo)).collect();
        assert_eq!(all.iter().sum::<u32>(), 120_000, "mean 1.0");
        assert!(m.seasonal_factor_bps(6) > m.seasonal_factor_bps(1));
        assert!(m.seasonal_factor_bps(5) > m.seasonal_factor_bps(12));
        assert_eq!(m.seasonal_factor_bps(0), 10_000);
        assert_eq!(m.seasonal_factor_bps(13), 10_000);
    }

    #[test]
    fn given_sizing_when_estimating_from_a_bill_then_integers_follow_the_formula() {
        let s = market().sizing();
        assert_eq!(s.price_cents_per_kwh, 32);
        assert_eq!(s.yield_kwh_per_kw_year, 1_200);
        assert_eq!(s.max_kw(Some(PropertyType::Townhouse)), 6);
        assert_eq!(s.max_kw_tenths(Some(PropertyType::Townhouse)), 60);
        assert_eq!(s.max_watts(None), s.max_kw(None) * 1_000);
        assert!(s.max_kw(Some(PropertyType::Condo)) < s.max_kw(Some(PropertyType::SingleFamily)));
        // $200/month at 32¢ → 7,500 kWh/yr; × 90% / 1,200 → 5.625 kW → 5,600 W.
        let e = s.estimate(Cents::from_dollars(200), Some(PropertyType::SingleFamily));
        assert_eq!(e.annual_use_kwh, 7_500);
        assert_eq!(e.system_watts, 5_600);
        assert!(!e.capped_by_roof);
        assert_eq!(e.annual_production_kwh, 6_720);
        assert_eq!(e.annual_savings, Cents(6_720 * 32));
        assert_eq!(e.installed_cost, Cents(5_600 * 400));
        // A big bill on a brownstone hits the roof cap.
        let e = s.estimate(Cents::from_dollars(600), Some(PropertyType::Townhouse));
        assert!(e.capped_by_roof);
        assert_eq!(e.system_watts, 6_000);
        assert_eq!(s.estimate(Cents(-5), None).system_watts, 0);
        assert_eq!(s.estimate(Cents(-5), None).annual_savings, Cents::ZERO);
        assert_eq!(
            s.estimate(Cents::from_dollars(200), Some(PropertyType::SingleFamily))
                .system_kw(),
            "5.6"
        );
    }

    #[test]
    fn given_free_text_when_finding_place_then_names_map_to_borough_and_slug() {
        let m = market();
        let cases: &[(&str, Option<Place>)] = &[
            (
                "i live in park slope",
                place(Borough::Brooklyn, Some("park_slope")),
            ),
            (
                "we're on the ues",
                place(Borough::Manhattan, Some("upper_east_side")),
            ),
            (
                "upper west side co-op",
                place(Borough::Manhattan, Some("upper_west_side")),
            ),
            ("uws", place(Borough::Manhattan, Some("upper_west_side"))),
            (
                "house in astoria, queens",
                place(Borough::Queens, Some("astoria")),
            ),
            ("i'm in the bronx", place(Borough::Bronx, None)),
            ("staten island", place(Borough::StatenIsland, None)),
            ("queens", place(Borough::Queens, None)),
            (
                "long island city",
                place(Borough::Queens, Some("long_island_city")),
            ),
            (
                "condo in lic",
                place(Borough::Queens, Some("long_island_city")),
            ),
            (
                "bed-stuy brownstone",
                place(Borough::Brooklyn, Some("bed_stuy")),
            ),
            ("bed stuy", place(Borough::Brooklyn, Some("bed_stuy"))),
            ("bedstuy", place(Borough::Brooklyn, Some("bed_stuy"))),
            (
                "st. george",
                place(Borough::StatenIsland, Some("st_george")),
            ),
            (
                "hell's kitchen",
                place(Borough::Manhattan, Some("hells_kitchen")),
            ),
            (
                "manhattan beach",
                place(Borough::Brooklyn, Some("manhattan_beach")),
            ),
            (
                "queens village",
                place(Borough::Queens, Some("queens_village")),
            ),
            (
                "brooklyn, in bay ridge",
                place(Borough::Brooklyn, Some("bay_ridge")),
            ),
            ("loft in soho", place(Borough::Manhattan, Some("soho"))),
            ("riverdale", place(Borough::Bronx, Some("riverdale"))),
            ("throgs neck", place(Borough::Bronx, Some("throgs_neck"))),
            (
                "tottenville, staten island",
                place(Borough::StatenIsland, Some("tottenville")),
            ),
            (
                "jackson heights",
                place(Borough::Queens, Some("jackson_heights")),
            ),
            (
                "south shore staten island",
                place(Borough::StatenIsland, Some("south_shore")),
            ),
            ("i'm in manhattan", place(Borough::Manhattan, None)),
            // No false matches inside words or on generic phrases.
            ("the public utility", None),
            ("banana republic", None),
            ("sohorse", None),
            ("my bill is $300", None),
            ("queensland", None),
            ("south beach miami", None),
        ];
        for (text, want) in cases {
            assert_eq!(m.find_place(text), *want, "{text:?}");
        }
    }

    #[test]
    fn given_every_alias_when_said_alone_then_it_finds_its_own_place() {
        let m = market();
        for n in m.neighborhoods() {
            for a in &n.aliases {
                let got = m.find_place(&format!("we live in {a}, thanks"));
                assert_eq!(
                    got.map(|p| (p.borough, p.neighborhood)),
                    Some((n.borough, Some(n.slug.as_str()))),
                    "{a:?}"
                );
            }
        }
    }
}
