//! The chart of the report.

use std::fmt::Write as _;
use std::time::Duration;

use crate::harness::{Group, Row, format_duration};
use crate::workloads::Bench;

/// A horizontal bar chart of the charted rows, one block per workload, on a log time axis.
pub(crate) fn svg(bench: &Bench) -> String {
    const LEFT: f64 = 360.0;
    const WIDTH: f64 = 980.0;
    const BAR: f64 = 13.0;
    const GAP: f64 = 3.0;
    const BLOCK_GAP: f64 = 14.0;
    const TOP: f64 = 56.0;
    let plot = WIDTH - LEFT - 110.0;
    let charted: Vec<(&Group, Vec<&Row>)> = bench
        .groups
        .iter()
        .filter(|g| !g.raw.is_empty())
        .map(|g| (g, g.rows.iter().filter(|r| r.chart).collect::<Vec<_>>()))
        .filter(|(_, rows)| !rows.is_empty())
        .collect();
    let all = charted
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.median.as_secs_f64()));
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let lo_exp = lo.max(1e-7).log10().floor();
    let hi_exp = hi.max(1e-6).log10().ceil().max(lo_exp + 1.0);
    let x = |s: f64| LEFT + (s.max(1e-7).log10() - lo_exp) / (hi_exp - lo_exp) * plot;
    let rows: usize = charted.iter().map(|(_, r)| r.len()).sum();
    let height = TOP + rows as f64 * (BAR + GAP) + charted.len() as f64 * (BLOCK_GAP + 16.0) + 40.0;
    let color = |name: &str| {
        if name.starts_with("raw") {
            "#7f8c8d"
        } else if name.starts_with("SQLite") {
            "#2980b9"
        } else if name.contains("compressed+encrypted") {
            "#8e44ad"
        } else {
            "#27ae60"
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">statevault beside the raw primitive and SQLite: median time per operation (log scale)</text>"#
    );
    let mut legend_x = 10.0;
    for (name, fill) in [
        ("raw primitive", "#7f8c8d"),
        ("statevault (Full, plain)", "#27ae60"),
        ("statevault (Full, compressed+encrypted)", "#8e44ad"),
        ("SQLite (WAL, synchronous=FULL)", "#2980b9"),
    ] {
        let _ = writeln!(
            out,
            r#"<rect x="{legend_x:.1}" y="30" width="10" height="10" fill="{fill}"/><text x="{:.0}" y="39">{name}</text>"#,
            legend_x + 14.0
        );
        legend_x += 14.0 + name.len() as f64 * 6.2 + 18.0;
    }
    let mut exp = lo_exp;
    while exp <= hi_exp {
        let gx = x(10f64.powf(exp));
        let label = format_duration(Duration::from_secs_f64(10f64.powf(exp)));
        let _ = writeln!(
            out,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{:.0}" stroke="#ddd"/><text x="{gx:.1}" y="{:.0}" text-anchor="middle" fill="#555">{label}</text>"##,
            height - 30.0,
            height - 16.0
        );
        exp += 1.0;
    }
    let mut y = TOP;
    for (group, rows) in &charted {
        let _ = writeln!(
            out,
            r#"<text x="10" y="{:.0}" font-weight="bold">{}</text>"#,
            y + 11.0,
            escape(&group.label)
        );
        y += 16.0;
        for row in rows {
            let s = row.median.as_secs_f64();
            let end = x(s);
            let _ = writeln!(
                out,
                r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT - 6.0,
                y + BAR - 3.0,
                escape(&row.name),
                (end - LEFT).max(1.0),
                color(&row.name),
                end + 4.0,
                y + BAR - 3.0,
                format_duration(row.median)
            );
            y += BAR + GAP;
        }
        y += BLOCK_GAP;
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
