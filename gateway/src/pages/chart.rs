//! The balances page's chart of one ordered pair over the settled periods, as numbers an
//! inline SVG template draws: for each period two bars side by side, the pair's returns and
//! its admissions, their heights scaled against the pair's largest count, each labelled with
//! its count. Geometry only: the counts are the signed reports'.

/// The chart's width, in SVG user units.
pub const WIDTH: u32 = 640;
/// The chart's height.
pub const HEIGHT: u32 = 200;
/// The plot's margins: left (room for nothing but air), right, top (a count's label), and
/// bottom (the periods' labels).
const LEFT: f64 = 16.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 30.0;
/// The widest bar.
const BAR_WIDTH_MAX: f64 = 36.0;
/// At most this many periods are labelled under the axis; the others keep their title.
const TICKS_MAX: usize = 8;

/// One period's counts on the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCounts {
    /// The period, as shown under the axis (its first day).
    pub label: String,
    /// The period in full, for the bars' titles.
    pub period: String,
    /// Returns from the pair's first state to its second.
    pub returns: u32,
    /// Admissions by the first state of people from the second.
    pub admissions: u32,
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// `returns` or `admissions`.
    pub kind: &'static str,
    /// The period in full.
    pub period: String,
    /// How many people.
    pub count: u32,
    /// The bar's left edge.
    pub x: String,
    /// The bar's top.
    pub y: String,
    /// The bar's width.
    pub width: String,
    /// The bar's height.
    pub height: String,
    /// The count's label's centre.
    pub label_x: String,
    /// The count's label's baseline.
    pub label_y: String,
}

/// A period's label under the axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Its centre.
    pub x: String,
    /// The label.
    pub label: String,
}

/// The chart of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Two bars per period, returns first, oldest period first.
    pub bars: Vec<Bar>,
    /// The periods' labels.
    pub ticks: Vec<Tick>,
    /// The axis's height.
    pub axis_y: String,
}

/// The chart of `periods`, oldest first.
pub fn draw(periods: &[PeriodCounts]) -> Chart {
    let plot_width = f64::from(WIDTH) - LEFT - RIGHT;
    let plot_height = f64::from(HEIGHT) - TOP - BOTTOM;
    let axis = f64::from(HEIGHT) - BOTTOM;
    let group = plot_width / periods.len().max(1) as f64;
    let bar_width = (group * 0.35).min(BAR_WIDTH_MAX);
    let largest = periods
        .iter()
        .map(|period| period.returns.max(period.admissions))
        .max()
        .unwrap_or(0)
        .max(1);
    let every = periods.len().div_ceil(TICKS_MAX).max(1);
    let mut bars = Vec::with_capacity(periods.len() * 2);
    let mut ticks = Vec::new();
    for (index, period) in periods.iter().enumerate() {
        let centre = LEFT + group * (index as f64 + 0.5);
        for (kind, count, left) in [
            ("returns", period.returns, centre - bar_width - 1.0),
            ("admissions", period.admissions, centre + 1.0),
        ] {
            let height = plot_height * f64::from(count) / f64::from(largest);
            bars.push(Bar {
                kind,
                period: period.period.clone(),
                count,
                x: number(left),
                y: number(axis - height),
                width: number(bar_width),
                height: number(height),
                label_x: number(left + bar_width / 2.0),
                label_y: number(axis - height - 4.0),
            });
        }
        if index % every == 0 {
            ticks.push(Tick {
                x: number(centre),
                label: period.label.clone(),
            });
        }
    }
    Chart {
        bars,
        ticks,
        axis_y: number(axis),
    }
}

/// A coordinate with one decimal.
fn number(value: f64) -> String {
    format!("{value:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(label: &str, returns: u32, admissions: u32) -> PeriodCounts {
        PeriodCounts {
            label: label.to_owned(),
            period: label.to_owned(),
            returns,
            admissions,
        }
    }

    #[test]
    fn two_bars_per_period_the_tallest_for_the_largest_count() {
        let chart = draw(&[period("2026-01-05", 4, 0), period("2026-01-12", 2, 1)]);
        let shown: Vec<(&str, &str, u32)> = chart
            .bars
            .iter()
            .map(|bar| (bar.period.as_str(), bar.kind, bar.count))
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-01-05", "returns", 4),
                ("2026-01-05", "admissions", 0),
                ("2026-01-12", "returns", 2),
                ("2026-01-12", "admissions", 1),
            ]
        );
        assert_eq!(chart.bars[0].height, "148.0", "the whole plot's height");
        assert_eq!(chart.bars[1].height, "0.0");
        assert_eq!(chart.bars[2].height, "74.0");
        assert_eq!(chart.ticks.len(), 2);
    }

    #[test]
    fn many_periods_keep_every_bar_and_label_a_few() {
        let periods: Vec<PeriodCounts> = (0..20)
            .map(|index| period(&format!("P{index}"), index, 0))
            .collect();
        let chart = draw(&periods);
        assert_eq!(chart.bars.len(), 40);
        assert!(chart.ticks.len() <= TICKS_MAX);
        assert_eq!(chart.ticks[0].label, "P0");
    }
}
