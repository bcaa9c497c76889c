//! Exact arithmetic for games: payoffs as integers, rational numbers, and
//! their correctly rounded conversion to f64.
//!
//! Every finite f64 is a dyadic rational `m · 2^e`, so a payoff matrix is,
//! exactly, an integer matrix times a power of two. Equilibria do not change
//! when a player's payoffs are multiplied by a positive number or shifted by
//! a constant, so the solvers work on those integers and every comparison
//! they make (a ratio test, a tie between best responses, a zero
//! probability) is exact: a degenerate game is recognised as such, never
//! by a tolerance.

use super::game::Matrix;
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;

/// `x = m · 2^e` with `m` odd (or zero): the exact value of a finite f64.
pub(crate) fn decompose(x: f64) -> (i64, i32) {
    if x == 0.0 {
        return (0, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = m.trailing_zeros();
    let m = (m >> zeros) as i64;
    (if x < 0.0 { -m } else { m }, e + zeros as i32)
}

/// `x · 2^k` without overflowing or underflowing in between.
fn ldexp(mut x: f64, mut k: i64) -> f64 {
    const STEP: i64 = 1000;
    while k > STEP {
        x *= 2f64.powi(STEP as i32);
        k -= STEP;
    }
    while k < -STEP {
        x *= 2f64.powi(-STEP as i32);
        k += STEP;
    }
    x * 2f64.powi(k as i32)
}

/// `p / q` (q > 0) rounded to the nearest f64.
pub(crate) fn ratio_to_f64(p: &BigInt, q: &BigInt) -> f64 {
    if p.is_zero() {
        return 0.0;
    }
    let (pm, qm) = (p.magnitude(), q.magnitude());
    // Scale so that the quotient has 62 or 63 bits: more than the 53 of an
    // f64 plus a rounding bit, and a sticky bit for the remainder keeps the
    // conversion below correctly rounded.
    let shift = 62 - (pm.bits() as i64 - qm.bits() as i64);
    let (n, d) = if shift >= 0 {
        (pm << shift as usize, qm.clone())
    } else {
        (pm.clone(), qm << (-shift) as usize)
    };
    let (quotient, remainder) = n.div_rem(&d);
    let mut q64 = quotient.to_u64().unwrap_or(u64::MAX);
    if !remainder.is_zero() {
        q64 |= 1;
    }
    let x = ldexp(q64 as f64, -shift);
    if p.sign() == Sign::Minus {
        -x
    } else {
        x
    }
}

/// An exact rational number in lowest terms (the denominator positive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rational {
    num: BigInt,
    den: BigInt,
}

impl Rational {
    /// `num / den` in lowest terms; `None` if `den` is zero.
    pub fn new(num: BigInt, den: BigInt) -> Option<Self> {
        if den.is_zero() {
            return None;
        }
        let g = num.gcd(&den);
        let (mut num, mut den) = (num / &g, den / &g);
        if den.is_negative() {
            num = -num;
            den = -den;
        }
        Some(Rational { num, den })
    }

    /// The integer `n`.
    pub fn from_integer(n: impl Into<BigInt>) -> Self {
        Rational {
            num: n.into(),
            den: BigInt::one(),
        }
    }

    /// Zero.
    pub fn zero() -> Self {
        Self::from_integer(0)
    }

    /// The exact value of a finite f64; `None` for NaN and infinities.
    pub fn from_f64(x: f64) -> Option<Self> {
        if !x.is_finite() {
            return None;
        }
        let (m, e) = decompose(x);
        let m = BigInt::from(m);
        Some(if e >= 0 {
            Rational::from_integer(m << e as usize)
        } else {
            Rational {
                num: m,
                den: BigInt::one() << (-e) as usize,
            }
        })
    }

    /// Parses `3`, `-0.25`, `1e-3`, `2.5E2` (exact decimal values) or a
    /// fraction `p/q` of two such numbers, e.g. `1/3`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some((p, q)) = text.split_once('/') {
            let (p, q) = (
                Self::parse_decimal(p.trim())?,
                Self::parse_decimal(q.trim())?,
            );
            if q.is_zero() {
                return None;
            }
            return Rational::new(p.num * q.den, p.den * q.num);
        }
        Self::parse_decimal(text)
    }

    fn parse_decimal(text: &str) -> Option<Self> {
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(k) => (&text[..k], text[k + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .chars()
                .chain(fraction.chars())
                .all(|c| c.is_ascii_digit())
            || exponent.unsigned_abs() > 400
        {
            return None;
        }
        let num: BigInt = format!("{whole}{fraction}").parse().ok()?;
        let scale = exponent - fraction.len() as i32;
        let ten = BigInt::from(10);
        let r = if scale >= 0 {
            Rational::from_integer(num * ten.pow(scale as u32))
        } else {
            Rational::new(num, ten.pow((-scale) as u32))?
        };
        Some(if negative { -r } else { r })
    }

    /// The numerator (its sign is the number's).
    pub fn numer(&self) -> &BigInt {
        &self.num
    }

    /// The denominator (positive).
    pub fn denom(&self) -> &BigInt {
        &self.den
    }

    /// True if zero.
    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    /// True if below zero.
    pub fn is_negative(&self) -> bool {
        self.num.is_negative()
    }

    /// The nearest f64 (ties to even).
    pub fn to_f64(&self) -> f64 {
        ratio_to_f64(&self.num, &self.den)
    }

    fn combine(&self, other: &Rational, op: impl Fn(BigInt, BigInt) -> BigInt) -> Rational {
        let num = op(&self.num * &other.den, &other.num * &self.den);
        Rational::new(num, &self.den * &other.den).unwrap_or_else(Rational::zero)
    }
}

impl std::ops::Add for &Rational {
    type Output = Rational;
    fn add(self, other: &Rational) -> Rational {
        self.combine(other, |a, b| a + b)
    }
}

impl std::ops::Sub for &Rational {
    type Output = Rational;
    fn sub(self, other: &Rational) -> Rational {
        self.combine(other, |a, b| a - b)
    }
}

impl std::ops::Mul for &Rational {
    type Output = Rational;
    fn mul(self, other: &Rational) -> Rational {
        Rational::new(&self.num * &other.num, &self.den * &other.den).unwrap_or_else(Rational::zero)
    }
}

impl std::ops::Neg for Rational {
    type Output = Rational;
    fn neg(self) -> Rational {
        Rational {
            num: -self.num,
            den: self.den,
        }
    }
}

impl Ord for Rational {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.num * &other.den).cmp(&(&other.num * &self.den))
    }
}

impl PartialOrd for Rational {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den.is_one() {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// A payoff matrix as exact integers: the matrix equals `entries · 2^exponent`.
#[derive(Debug, Clone)]
pub(crate) struct IntMatrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<BigInt>,
    pub exponent: i32,
}

impl IntMatrix {
    /// The exact integer form of `m`.
    pub fn from_matrix(m: &Matrix) -> Self {
        let parts: Vec<(i64, i32)> = m.data().iter().map(|&x| decompose(x)).collect();
        let exponent = parts
            .iter()
            .filter(|(mant, _)| *mant != 0)
            .map(|&(_, e)| e)
            .min()
            .unwrap_or(0);
        let data = parts
            .iter()
            .map(|&(mant, e)| BigInt::from(mant) << (e - exponent) as usize)
            .collect();
        IntMatrix {
            rows: m.rows(),
            cols: m.cols(),
            data,
            exponent,
        }
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> &BigInt {
        &self.data[i * self.cols + j]
    }

    /// The same game for this player with every payoff at least 1: shifted
    /// by a constant and divided by the entries' greatest common divisor,
    /// which leaves best responses, and so equilibria, unchanged, and keeps
    /// the integers of the pivoting small.
    pub fn positive(&self) -> IntMatrix {
        let min = self.data.iter().min().cloned().unwrap_or_default();
        let shifted: Vec<BigInt> = self.data.iter().map(|x| x - &min).collect();
        let g = shifted.iter().fold(BigInt::zero(), |g, x| g.gcd(x));
        let g = if g.is_zero() { BigInt::one() } else { g };
        IntMatrix {
            rows: self.rows,
            cols: self.cols,
            data: shifted.into_iter().map(|x| x / &g + 1).collect(),
            exponent: 0,
        }
    }

    /// The exact `xᵀ M y` for `x = xn / Σxn`, `y = yn / Σyn` (numerators
    /// nonnegative with positive sums).
    pub fn bilinear(&self, xn: &[BigInt], yn: &[BigInt]) -> Rational {
        let mut total = BigInt::zero();
        for (i, xi) in xn.iter().enumerate() {
            if xi.is_zero() {
                continue;
            }
            let mut row = BigInt::zero();
            for (j, yj) in yn.iter().enumerate() {
                if !yj.is_zero() {
                    row += self.get(i, j) * yj;
                }
            }
            total += xi * row;
        }
        let sx: BigInt = xn.iter().sum();
        let sy: BigInt = yn.iter().sum();
        let den = sx * sy;
        let value = if self.exponent >= 0 {
            Rational::new(total << self.exponent as usize, den)
        } else {
            Rational::new(total, den << (-self.exponent) as usize)
        };
        value.unwrap_or_else(Rational::zero)
    }

    /// `M y` for column weights `y` (unnormalised), one entry per row.
    pub fn mul_vec(&self, y: &[BigInt]) -> Vec<BigInt> {
        (0..self.rows)
            .map(|i| {
                y.iter()
                    .enumerate()
                    .filter(|(_, yj)| !yj.is_zero())
                    .map(|(j, yj)| self.get(i, j) * yj)
                    .sum()
            })
            .collect()
    }

    /// `xᵀ M` for row weights `x` (unnormalised), one entry per column.
    pub fn vec_mul(&self, x: &[BigInt]) -> Vec<BigInt> {
        (0..self.cols)
            .map(|j| {
                x.iter()
                    .enumerate()
                    .filter(|(_, xi)| !xi.is_zero())
                    .map(|(i, xi)| self.get(i, j) * xi)
                    .sum()
            })
            .collect()
    }
}

/// Solves the square system `M z = rhs` exactly by fraction-free
/// Gauss–Jordan elimination; returns the numerators of `z` and their common
/// denominator (positive), or `None` if `M` is singular. `rows` are the
/// rows of `[M | rhs]`.
pub(crate) fn solve_exact(mut rows: Vec<Vec<BigInt>>) -> Option<(Vec<BigInt>, BigInt)> {
    let n = rows.len();
    let mut det = BigInt::one();
    for c in 0..n {
        let r = (c..n).find(|&r| !rows[r][c].is_zero())?;
        rows.swap(r, c);
        let pivot = rows[c][c].clone();
        let pivot_row = rows[c].clone();
        for (i, row) in rows.iter_mut().enumerate() {
            if i == c {
                continue;
            }
            let factor = row[c].clone();
            for (k, entry) in row.iter_mut().enumerate() {
                // Integer pivoting: every entry stays a minor of [M | rhs],
                // so the division is exact.
                *entry = (&*entry * &pivot - &factor * &pivot_row[k]) / &det;
            }
        }
        det = pivot;
    }
    // Now M = det · I.
    let mut z: Vec<BigInt> = rows.iter().map(|row| row[n].clone()).collect();
    if det.is_negative() {
        det = -det;
        z.iter_mut().for_each(|v| *v = -&*v);
    }
    Some((z, det))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Rational {
        Rational::parse(text).unwrap()
    }

    #[test]
    fn decompose_is_exact() {
        for x in [
            1.0,
            -0.1,
            3.5,
            1e-310,
            123456789.0,
            f64::MAX,
            -f64::MIN_POSITIVE,
        ] {
            let q = Rational::from_f64(x).unwrap();
            assert_eq!(q.to_f64(), x, "{x}");
        }
        assert_eq!(decompose(12.0), (3, 2));
        assert_eq!(decompose(-0.75), (-3, -2));
    }

    #[test]
    fn parses_decimals_and_fractions_exactly() {
        assert_eq!(r("1/3"), Rational::new(1.into(), 3.into()).unwrap());
        assert_eq!(r("0.25"), Rational::new(1.into(), 4.into()).unwrap());
        assert_eq!(r("-1.5e1"), Rational::from_integer(-15));
        assert_eq!(r("2.5/0.5"), Rational::from_integer(5));
        assert_eq!(r(".5"), r("1/2"));
        for bad in ["", "1/0", "a", "1..2", "--1", "1e", "/", "1/2/3"] {
            assert!(Rational::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(r("7/12").to_string(), "7/12");
    }

    #[test]
    fn to_f64_rounds_to_nearest() {
        assert_eq!(r("1/3").to_f64(), 1.0 / 3.0);
        assert_eq!(r("7/12").to_f64(), 7.0 / 12.0);
        assert_eq!(r("-2/3").to_f64(), -2.0 / 3.0);
        assert_eq!(r("1e-300/3").to_f64(), 1e-300 / 3.0);
        // 0.1 as a decimal is not the f64 0.1, but rounds to it.
        assert_eq!(r("0.1").to_f64(), 0.1);
    }

    #[test]
    fn exact_solve_of_a_small_system() {
        // 2a + b = 5, a - b = 1  →  a = 2, b = 1.
        let rows = vec![
            vec![2.into(), 1.into(), 5.into()],
            vec![1.into(), (-1).into(), 1.into()],
        ];
        let (z, det) = solve_exact(rows).unwrap();
        assert_eq!(&z[0] / &det, 2.into());
        assert_eq!(&z[1] / &det, 1.into());
        let singular = vec![
            vec![1.into(), 2.into(), 1.into()],
            vec![2.into(), 4.into(), 2.into()],
        ];
        assert!(solve_exact(singular).is_none());
    }
}
