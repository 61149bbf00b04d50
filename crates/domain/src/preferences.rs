//! What each admin chooses for themselves: how times are shown and whether
//! single-key shortcuts are on. Kept per user in the database and read with
//! the caller's credential, so every page knows them without another query.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How pages show times. Pages always render UTC, which is what a browser
/// without JavaScript shows; the page script rewrites it to the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeDisplay {
    #[default]
    Utc,
    /// The browser's time zone.
    Local,
    /// "3 h ago".
    Relative,
}

impl TimeDisplay {
    pub const ALL: [TimeDisplay; 3] = [TimeDisplay::Utc, TimeDisplay::Local, TimeDisplay::Relative];

    /// The stored value, the form's value and `data-time-display`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeDisplay::Utc => "utc",
            TimeDisplay::Local => "local",
            TimeDisplay::Relative => "relative",
        }
    }

    /// How the account page names it.
    pub fn label(self) -> &'static str {
        match self {
            TimeDisplay::Utc => "UTC",
            TimeDisplay::Local => "Local time (this browser's time zone)",
            TimeDisplay::Relative => "Relative (\u{201c}3 h ago\u{201d})",
        }
    }
}

impl fmt::Display for TimeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimeDisplay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown time display {s:?}: expected utc, local or relative"))
    }
}

/// One admin's display preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    pub time_display: TimeDisplay,
    /// Single-key shortcuts (`/`, `g i`, `j`…). WCAG 2.1.4: whoever they
    /// get in the way of (speech input, a stray key) can turn them off.
    pub keyboard_shortcuts: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            time_display: TimeDisplay::Utc,
            keyboard_shortcuts: true,
        }
    }
}

impl Preferences {
    /// The stored value of `keyboard_shortcuts`, and `data-shortcuts`.
    pub fn shortcuts_str(&self) -> &'static str {
        if self.keyboard_shortcuts {
            "on"
        } else {
            "off"
        }
    }

    /// Reads the stored `keyboard_shortcuts` text.
    pub fn parse_shortcuts(text: &str) -> Result<bool, String> {
        match text {
            "on" => Ok(true),
            "off" => Ok(false),
            other => Err(format!(
                "unknown shortcuts setting {other:?}: expected on or off"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_displays_and_shortcut_settings_round_trip_through_their_names() {
        for display in TimeDisplay::ALL {
            assert_eq!(display.as_str().parse::<TimeDisplay>(), Ok(display));
        }
        assert!("UTC".parse::<TimeDisplay>().is_err());
        for on in [true, false] {
            let preferences = Preferences {
                keyboard_shortcuts: on,
                ..Preferences::default()
            };
            assert_eq!(
                Preferences::parse_shortcuts(preferences.shortcuts_str()),
                Ok(on)
            );
        }
        assert!(Preferences::parse_shortcuts("yes").is_err());
    }
}
