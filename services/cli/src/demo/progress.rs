//! The demo's progress on standard error: on a terminal, one line redrawn in place (a bar of
//! the cases worked, the week and its phase, the last round settled); elsewhere (a log, a
//! pipe), a line per week and per round.

use std::io::{IsTerminal as _, Write as _};

/// The width of the bar, in characters.
const BAR: u64 = 24;

/// Where the demo is.
pub struct Progress {
    cases: u64,
    worked: u64,
    weeks: u32,
    week: u32,
    phase: String,
    settled: String,
    redraw: bool,
}

impl Progress {
    /// Nothing done yet of `cases` cases over `weeks` weeks.
    pub fn new(cases: u64, weeks: u32) -> Self {
        Self {
            cases,
            worked: 0,
            weeks,
            week: 0,
            phase: String::new(),
            settled: String::new(),
            redraw: std::io::stderr().is_terminal(),
        }
    }

    /// Week `week` of the phase `phase` begins.
    pub fn week(&mut self, week: u32, phase: &str) {
        self.week = week;
        phase.clone_into(&mut self.phase);
        self.show(true);
    }

    /// `cases` more cases were opened and worked.
    pub fn worked(&mut self, cases: usize) {
        self.worked += cases as u64;
        self.show(false);
    }

    /// The week's round is final.
    pub fn settled(&mut self, round_id: &str) {
        self.settled = format!(" · {round_id} FINAL");
        self.show(true);
    }

    /// The scenario is over: the line stays.
    pub fn done(&mut self) {
        if self.redraw {
            eprintln!();
        }
    }

    fn show(&self, milestone: bool) {
        let filled = (BAR * self.worked).checked_div(self.cases).unwrap_or(BAR);
        let bar: String = (0..BAR)
            .map(|at| if at < filled { '#' } else { '.' })
            .collect();
        let line = format!(
            "[{bar}] {}/{} cases · week {}/{} · {}{}",
            self.worked, self.cases, self.week, self.weeks, self.phase, self.settled
        );
        let mut stderr = std::io::stderr().lock();
        if self.redraw {
            // Clear to the end of the line: a shorter line leaves nothing of the last.
            let _ = write!(stderr, "\r{line}\x1b[K");
            let _ = stderr.flush();
        } else if milestone {
            let _ = writeln!(stderr, "{line}");
        }
    }
}
