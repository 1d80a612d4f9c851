//! Money as integer cents, everywhere inside the system (state, queue messages, models).
//! Only API responses show US dollars as JSON numbers (`275.0`), through [`Usd`], the shape
//! the chat frontend and buyers already read.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// Whole dollars, saturating at the `i64` bounds: for literals and amounts already
    /// bounded (a bill, a tier value). Untrusted input goes through [`Cents::checked_from_dollars`].
    pub const fn from_dollars(dollars: i64) -> Cents {
        Cents(dollars.saturating_mul(100))
    }

    /// Whole dollars, `None` when the amount does not fit in cents.
    pub const fn checked_from_dollars(dollars: i64) -> Option<Cents> {
        match dollars.checked_mul(100) {
            Some(cents) => Some(Cents(cents)),
            None => None,
        }
    }

    /// Parses a dollar amount written as text ("1,234.5", "400") without a float.
    pub fn parse_dollars(text: &str) -> Option<Cents> {
        let cleaned: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
        let (whole, frac) = match cleaned.split_once('.') {
            Some((w, f)) => (w, f),
            None => (cleaned.as_str(), ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if whole.len() > 12 {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut frac_digits = frac.bytes().take(3);
        let tens = frac_digits.next().map_or(0, |d| i64::from(d - b'0'));
        let ones = frac_digits.next().map_or(0, |d| i64::from(d - b'0'));
        let round = frac_digits.next().map_or(0, |d| i64::from(d >= b'5'));
        Some(Cents(whole * 100 + tens * 10 + ones + round))
    }

    pub const fn checked_add(self, rhs: Cents) -> Option<Cents> {
        match self.0.checked_add(rhs.0) {
            Some(c) => Some(Cents(c)),
            None => None,
        }
    }

    pub const fn checked_sub(self, rhs: Cents) -> Option<Cents> {
        match self.0.checked_sub(rhs.0) {
            Some(c) => Some(Cents(c)),
            None => None,
        }
    }

    pub const fn saturating_add(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_add(rhs.0))
    }

    pub const fn saturating_sub(self, rhs: Cents) -> Cents {
        Cents(self.0.saturating_sub(rhs.0))
    }

    /// Multiplies by a factor in basis points (10_000 = ×1.0), rounding half away from
    /// zero; `None` when the result does not fit.
    pub fn checked_mul_bps(self, bps: i64) -> Option<Cents> {
        scale(self, bps, 10_000)
    }

    /// [`Cents::checked_mul_bps`], saturating at the `i64` bound of the result's sign:
    /// for factors a validated model or a clamp has already bounded.
    pub fn mul_bps(self, bps: i64) -> Cents {
        self.checked_mul_bps(bps)
            .unwrap_or_else(|| saturated(self, bps))
    }

    /// Multiplies by a ratio in parts per million (1_000_000 = ×1.0), rounding half away
    /// from zero; `None` when the result does not fit.
    pub fn checked_mul_ppm(self, ppm: i64) -> Option<Cents> {
        scale(self, ppm, 1_000_000)
    }

    /// [`Cents::checked_mul_ppm`], saturating at the `i64` bound of the result's sign.
    pub fn mul_ppm(self, ppm: i64) -> Cents {
        self.checked_mul_ppm(ppm)
            .unwrap_or_else(|| saturated(self, ppm))
    }

    /// `self × numerator / denominator`, rounding half away from zero; `None` when the
    /// denominator is not positive or the result does not fit.
    pub fn checked_mul_ratio(self, numerator: i64, denominator: i64) -> Option<Cents> {
        (denominator > 0)
            .then(|| scale(self, numerator, i128::from(denominator)))
            .flatten()
    }

    pub fn dollars_f64(self) -> f64 {
        // Display and JSON only; arithmetic never goes through this.
        self.0 as f64 / 100.0
    }

    pub fn whole_dollars(self) -> i64 {
        self.0 / 100
    }
}

/// `amount × factor / unit` in i128 (cannot overflow), rounded half away from zero.
fn scale(amount: Cents, factor: i64, unit: i128) -> Option<Cents> {
    let product = i128::from(amount.0) * i128::from(factor);
    // Truncating `half` for an odd unit still rounds correctly: no product lands between.
    let half = unit / 2;
    let rounded = if product >= 0 {
        (product + half) / unit
    } else {
        (product - half) / unit
    };
    i64::try_from(rounded).ok().map(Cents)
}

/// The bound an overflowing product saturates to: the sign of the true result, never flipped.
fn saturated(amount: Cents, factor: i64) -> Cents {
    if (amount.0 < 0) == (factor < 0) {
        Cents(i64::MAX)
    } else {
        Cents(i64::MIN)
    }
}

// `+` and `-` saturate at the i64 bounds (keeping the sign); use `checked_*` to detect it.
impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        self.saturating_add(rhs)
    }
}

impl AddAssign for Cents {
    fn add_assign(&mut self, rhs: Cents) {
        *self = self.saturating_add(rhs);
    }
}

impl Sub for Cents {
    type Output = Cents;
    fn sub(self, rhs: Cents) -> Cents {
        self.saturating_sub(rhs)
    }
}

/// Digits with thousands separators: 12345 -> "12,345".
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

impl Cents {
    /// "$1,234" for whole dollars, "$1,234.50" otherwise: how the agent says amounts.
    pub fn spoken(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        match abs % 100 {
            0 => format!("{sign}${}", group_thousands(abs / 100)),
            c => format!("{sign}${}.{c:02}", group_thousands(abs / 100)),
        }
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

/// An amount shown to API clients: serialized as a JSON number of US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Usd(pub Cents);

impl Default for Usd {
    fn default() -> Self {
        Usd(Cents::ZERO)
    }
}

impl From<Cents> for Usd {
    fn from(c: Cents) -> Usd {
        Usd(c)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The only place money becomes a float: the JSON number a client reads.
        serializer.serialize_f64(self.0.dollars_f64())
    }
}

impl utoipa::PartialSchema for Usd {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .description(Some(
                "An amount in US dollars with at most two decimals (whole cents).",
            ))
            .examples([275.0])
            .into()
    }
}

impl utoipa::ToSchema for Usd {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("UsdAmount")
    }
}

/// Converts a dollar amount received as a JSON number into cents (nearest cent).
pub fn cents_from_dollars_f64(dollars: f64) -> Option<Cents> {
    if !dollars.is_finite() || dollars.abs() > 1e12 {
        return None;
    }
    Some(Cents((dollars * 100.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dollar_text_without_floats() {
        assert_eq!(Cents::parse_dollars("400"), Some(Cents(40_000)));
        assert_eq!(Cents::parse_dollars("3,600"), Some(Cents(360_000)));
        assert_eq!(Cents::parse_dollars("412.5"), Some(Cents(41_250)));
        assert_eq!(Cents::parse_dollars("412.505"), Some(Cents(41_251)));
        assert_eq!(Cents::parse_dollars(".5"), Some(Cents(50)));
        assert_eq!(Cents::parse_dollars("abc"), None);
        assert_eq!(Cents::parse_dollars(""), None);
    }

    #[test]
    fn multiplies_in_basis_points() {
        assert_eq!(Cents(25_000).mul_bps(13_000), Cents(32_500));
        assert_eq!(Cents(333).mul_bps(5_000), Cents(167));
        assert_eq!(Cents(10_000).mul_ppm(850_000), Cents(8_500));
    }

    #[test]
    fn given_negative_amounts_when_scaled_then_the_sign_is_kept_and_halves_round_away() {
        assert_eq!(Cents(-10_000).mul_ppm(850_000), Cents(-8_500));
        assert_eq!(Cents(-3).mul_ppm(500_000), Cents(-2));
        assert_eq!(Cents(3).mul_ppm(500_000), Cents(2));
        assert_eq!(Cents(-333).mul_bps(5_000), Cents(-167));
        assert_eq!(Cents(10_000).mul_ppm(-250_000), Cents(-2_500));
        assert_eq!(Cents(-10_000).mul_bps(-5_000), Cents(5_000));
    }

    #[test]
    fn given_products_that_do_not_fit_then_checked_is_none_and_saturation_keeps_the_sign() {
        let big = Cents(i64::MAX / 2);
        assert_eq!(big.checked_mul_bps(30_000), None);
        assert_eq!(big.mul_bps(30_000), Cents(i64::MAX));
        assert_eq!(Cents(i64::MIN / 2).mul_bps(30_000), Cents(i64::MIN));
        assert_eq!(big.mul_bps(-30_000), Cents(i64::MIN));
        assert_eq!(Cents(i64::MIN).checked_mul_ppm(2_000_000), None);
        assert_eq!(Cents(i64::MIN).mul_ppm(2_000_000), Cents(i64::MIN));
        assert_eq!(Cents(i64::MIN).mul_ppm(-2_000_000), Cents(i64::MAX));
        assert_eq!(
            Cents(i64::MAX).checked_mul_ppm(1_000_000),
            Some(Cents(i64::MAX))
        );
    }

    #[test]
    fn given_a_ratio_then_it_scales_checked() {
        assert_eq!(
            Cents(5_000).checked_mul_ratio(3_600, 600),
            Some(Cents(30_000))
        );
        assert_eq!(Cents(100).checked_mul_ratio(1, 3), Some(Cents(33)));
        assert_eq!(Cents(-100).checked_mul_ratio(2, 3), Some(Cents(-67)));
        assert_eq!(Cents(100).checked_mul_ratio(1, 0), None);
        assert_eq!(Cents(100).checked_mul_ratio(1, -4), None);
        assert_eq!(Cents(i64::MAX).checked_mul_ratio(2, 1), None);
    }

    #[test]
    fn given_dollars_out_of_range_then_checked_construction_refuses_and_the_literal_saturates() {
        assert_eq!(Cents::checked_from_dollars(400), Some(Cents(40_000)));
        assert_eq!(Cents::checked_from_dollars(-5), Some(Cents(-500)));
        assert_eq!(Cents::checked_from_dollars(i64::MAX / 10), None);
        assert_eq!(Cents::checked_from_dollars(i64::MIN / 10), None);
        assert_eq!(Cents::from_dollars(i64::MAX / 10), Cents(i64::MAX));
        assert_eq!(Cents::from_dollars(i64::MIN / 10), Cents(i64::MIN));
    }

    #[test]
    fn given_sums_that_overflow_then_checked_is_none_and_operators_saturate() {
        let max = Cents(i64::MAX);
        assert_eq!(max.checked_add(Cents(1)), None);
        assert_eq!(Cents(i64::MIN).checked_sub(Cents(1)), None);
        assert_eq!(Cents(5).checked_sub(Cents(7)), Some(Cents(-2)));
        assert_eq!(max + Cents(1), max);
        assert_eq!(Cents(i64::MIN) - Cents(1), Cents(i64::MIN));
        assert_eq!(Cents(i64::MIN) + Cents(-1), Cents(i64::MIN));
        let mut total = Cents(i64::MAX - 1);
        total += Cents(10);
        assert_eq!(total, max);
    }

    #[test]
    fn speaks_amounts_with_separators() {
        assert_eq!(Cents(230_000).spoken(), "$2,300");
        assert_eq!(Cents(41_250).spoken(), "$412.50");
        assert_eq!(Cents(123_456_700).spoken(), "$1,234,567");
        assert_eq!(group_thousands(7_200), "7,200");
        assert_eq!(group_thousands(999), "999");
    }

    #[test]
    fn stored_money_is_integer_cents_and_clients_see_dollars() {
        assert_eq!(
            serde_json::to_string(&Cents(41_250)).expect("json"),
            "41250"
        );
        assert_eq!(
            serde_json::from_str::<Cents>("41250").expect("json"),
            Cents(41_250)
        );
        assert!(serde_json::from_str::<Cents>("412.5").is_err());
        assert_eq!(
            serde_json::to_string(&Usd(Cents(41_250))).expect("json"),
            "412.5"
        );
    }

    #[test]
    fn displays_as_dollars() {
        assert_eq!(Cents(27_500).to_string(), "$275.00");
        assert_eq!(Cents(-5).to_string(), "-$0.05");
    }
}
