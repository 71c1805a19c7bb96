//! Colour for the terminal views (the profile view and the comparison), or none: `NO_COLOR`, a pipe.

use anstyle::{AnsiColor, Effects, Style};

use crate::engine::RunStatus;
use crate::engine::profile::compare::Verdict;

pub struct Paint {
    pub color: bool,
}

impl Paint {
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color { format!("{style}{text}{style:#}") } else { text.to_string() }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::BOLD), text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::DIMMED), text)
    }

    /// A line's share of CPU time: red from 30%, yellow from 10%, green below.
    pub fn heat(&self, cpu: f64, text: &str) -> String {
        let color = if cpu >= 30.0 {
            AnsiColor::Red
        } else if cpu >= 10.0 {
            AnsiColor::Yellow
        } else {
            AnsiColor::Green
        };
        self.paint(Style::new().fg_color(Some(color.into())), text)
    }

    pub fn status(&self, status: RunStatus) -> String {
        let color = match status {
            RunStatus::Ok => AnsiColor::Green,
            RunStatus::TooShort | RunStatus::Cancelled | RunStatus::Running => AnsiColor::Yellow,
            RunStatus::ProgramFailed | RunStatus::TimedOut => AnsiColor::Red,
        };
        self.paint(Style::new().fg_color(Some(color.into())).effects(Effects::BOLD), status.as_str())
    }

    /// A comparison's verdict: regressed red, improved green, new or removed yellow, unchanged dim.
    pub fn verdict(&self, verdict: Verdict, text: &str) -> String {
        let style = match verdict {
            Verdict::Regressed => Style::new().fg_color(Some(AnsiColor::Red.into())).effects(Effects::BOLD),
            Verdict::Improved => Style::new().fg_color(Some(AnsiColor::Green.into())).effects(Effects::BOLD),
            Verdict::New | Verdict::Removed => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Verdict::Unchanged => Style::new().effects(Effects::DIMMED),
        };
        self.paint(style, text)
    }
}
