//! Colours and borders. `NO_COLOR` (or `--no-color`) leaves only bold and
//! reverse video; `--ascii` draws borders and marks with ASCII, for
//! terminals and fonts without box-drawing characters.

use std::collections::HashMap;

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Header,
    Selected,
    External,
    Guest,
    Marked,
    Error,
    Dim,
    Key,
    Title,
    /// A row the search found.
    Match,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
    colors: HashMap<&'static str, Color>,
}

const ROLES: [(&str, Role); 10] = [
    ("header", Role::Header),
    ("selected", Role::Selected),
    ("external", Role::External),
    ("guest", Role::Guest),
    ("marked", Role::Marked),
    ("error", Role::Error),
    ("dim", Role::Dim),
    ("key", Role::Key),
    ("title", Role::Title),
    ("match", Role::Match),
];

impl Theme {
    pub fn new(color: bool, ascii: bool) -> Theme {
        let colors = [
            ("header", Color::Cyan),
            ("selected", Color::Blue),
            ("external", Color::Yellow),
            ("guest", Color::Magenta),
            ("marked", Color::Green),
            ("error", Color::Red),
            ("dim", Color::DarkGray),
            ("key", Color::Cyan),
            ("title", Color::White),
            ("match", Color::LightYellow),
        ]
        .into_iter()
        .collect();
        Theme {
            color,
            ascii,
            colors,
        }
    }

    /// Applies `[colors]` from the config file (`external = "red"`,
    /// `marked = "#00ff00"`); returns what it did not understand.
    pub fn with_colors(mut self, c: &HashMap<String, String>) -> (Theme, Vec<String>) {
        let mut problems = Vec::new();
        for (k, v) in c {
            let Some((name, _)) = ROLES.iter().find(|(n, _)| *n == k.as_str()) else {
                problems.push(format!("unknown colour role {k:?} in [colors]"));
                continue;
            };
            match v.parse::<Color>() {
                Ok(col) => {
                    self.colors.insert(name, col);
                }
                Err(_) => problems.push(format!("unknown colour {v:?} for {k}")),
            }
        }
        (self, problems)
    }

    fn color(&self, r: Role) -> Color {
        let name = ROLES
            .iter()
            .find(|(_, x)| *x == r)
            .map(|(n, _)| *n)
            .unwrap_or("title");
        self.colors.get(name).copied().unwrap_or(Color::Reset)
    }

    pub fn style(&self, r: Role) -> Style {
        let base = Style::default();
        if !self.color {
            return match r {
                Role::Selected => base.add_modifier(Modifier::REVERSED),
                Role::Header | Role::Title | Role::Marked | Role::Key => {
                    base.add_modifier(Modifier::BOLD)
                }
                Role::Error => base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                Role::Match => base.add_modifier(Modifier::UNDERLINED),
                _ => base,
            };
        }
        match r {
            Role::Selected => base
                .bg(self.color(r))
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            Role::Header => base.fg(Color::Black).bg(self.color(r)),
            Role::Title | Role::Key => base.fg(self.color(r)).add_modifier(Modifier::BOLD),
            Role::Match => base
                .fg(self.color(r))
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            _ => base.fg(self.color(r)),
        }
    }

    pub fn border(&self) -> border::Set<'static> {
        if self.ascii {
            border::Set {
                top_left: "+",
                top_right: "+",
                bottom_left: "+",
                bottom_right: "+",
                vertical_left: "|",
                vertical_right: "|",
                horizontal_top: "-",
                horizontal_bottom: "-",
            }
        } else {
            border::ROUNDED
        }
    }

    /// The mark of a chat: all its targets marked, some, or none.
    pub fn mark(&self, all: bool, some: bool) -> &'static str {
        match (self.ascii, all, some) {
            (false, true, _) => "●",
            (false, false, true) => "◐",
            (true, true, _) => "*",
            (true, false, true) => "+",
            _ => " ",
        }
    }
}
