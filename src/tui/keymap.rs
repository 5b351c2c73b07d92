//! Keys and the actions they name. The hint line and the help screen are
//! generated from this table, so they cannot drift from what the keys do;
//! the config file can rebind any action (`[keys]`, `action = "key"` or a
//! list of keys).

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextView,
    Filter,
    Back,
    Quit,
    Mark,
    MarkAll,
    UnmarkAll,
    Invert,
    Open,
    Raw,
    DetailsUp,
    DetailsDown,
    Copy,
    Export,
    Help,
    SignIn,
    Review,
    Pause,
    CancelRun,
    RetryFailed,
    Report,
}

impl Action {
    pub const ALL: [Action; 27] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextView,
        Action::Filter,
        Action::Back,
        Action::Quit,
        Action::Mark,
        Action::MarkAll,
        Action::UnmarkAll,
        Action::Invert,
        Action::Open,
        Action::Raw,
        Action::DetailsUp,
        Action::DetailsDown,
        Action::Copy,
        Action::Export,
        Action::Help,
        Action::SignIn,
        Action::Review,
        Action::Pause,
        Action::CancelRun,
        Action::RetryFailed,
        Action::Report,
    ];

    /// The name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::NextView => "next_view",
            Action::Filter => "filter",
            Action::Back => "back",
            Action::Quit => "quit",
            Action::Mark => "mark",
            Action::MarkAll => "mark_all",
            Action::UnmarkAll => "unmark_all",
            Action::Invert => "invert",
            Action::Open => "open",
            Action::Raw => "raw",
            Action::DetailsUp => "details_up",
            Action::DetailsDown => "details_down",
            Action::Copy => "copy",
            Action::Export => "export",
            Action::Help => "help",
            Action::SignIn => "sign_in",
            Action::Review => "review",
            Action::Pause => "pause",
            Action::CancelRun => "cancel_run",
            Action::RetryFailed => "retry_failed",
            Action::Report => "report",
        }
    }

    /// What it does, for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "previous row",
            Action::Down => "next row",
            Action::PageUp => "previous page",
            Action::PageDown => "next page",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::NextView => "switch between events and chats",
            Action::Filter => "edit the filter (live; Enter keeps it, Esc undoes; ↑↓ history)",
            Action::Back => "close a dialog, clear the filter",
            Action::Quit => "quit",
            Action::Mark => "mark or unmark the targets of the selected row's chat",
            Action::MarkAll => "mark every target of the matching external chats",
            Action::UnmarkAll => "unmark everything",
            Action::Invert => "invert the marks of the matching external chats",
            Action::Open => "chats: show the chat's records in the events view",
            Action::Raw => "show or hide the raw AuditData",
            Action::DetailsUp => "scroll the details up",
            Action::DetailsDown => "scroll the details down",
            Action::Copy => "copy an id of the selected row (OSC 52, works over SSH)",
            Action::Export => "write the marked targets as a plan file",
            Action::Help => "this help",
            Action::SignIn => "sign in to Entra ID (device code)",
            Action::Review => "review the marked targets, then run their removal",
            Action::Pause => "run: pause or resume",
            Action::CancelRun => "run: cancel (requests in flight finish); end a finished run",
            Action::RetryFailed => "run: try the failed targets again",
            Action::Report => "run: show the report of its journal",
        }
    }

    /// The word on the hint line, for the actions shown there.
    fn hint(self) -> Option<&'static str> {
        Some(match self {
            Action::Filter => "filter",
            Action::Mark => "mark",
            Action::MarkAll => "mark all",
            Action::NextView => "chats/events",
            Action::Raw => "raw",
            Action::Copy => "copy",
            Action::Export => "export",
            Action::SignIn => "sign in",
            Action::Review => "run",
            Action::Help => "help",
            Action::Quit => "quit",
            _ => return None,
        })
    }

    fn from_name(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// A key with its modifiers (Shift only where it is not in the
/// character already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut code = e.code;
        if let KeyCode::Char(c) = code {
            code = KeyCode::Char(c);
        }
        Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// Parses `x`, `ctrl-d`, `alt-x`, `space`, `tab`, `backtab`, `enter`,
    /// `esc`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`, `home`, `end`,
    /// `f1`…
    pub fn parse(s: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "space" => KeyCode::Char(' '),
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().ok()?)
            }
            _ => {
                let mut cs = rest.chars();
                let c = cs.next()?;
                if cs.next().is_some() {
                    return None;
                }
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys to actions, and actions to their keys in order.
#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    keys: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCode::*;
        let p = Key::plain;
        let c = |ch| p(Char(ch));
        let table: Vec<(Action, Vec<Key>)> = vec![
            (Action::Up, vec![p(Up), c('k')]),
            (Action::Down, vec![p(Down), c('j')]),
            (
                Action::PageUp,
                vec![p(PageUp), Key::ctrl('b'), Key::ctrl('u')],
            ),
            (
                Action::PageDown,
                vec![p(PageDown), Key::ctrl('f'), Key::ctrl('d')],
            ),
            (Action::Top, vec![p(Home), c('g')]),
            (Action::Bottom, vec![p(End), c('G')]),
            (Action::NextView, vec![p(Tab), p(BackTab)]),
            (Action::Filter, vec![c('/')]),
            (Action::Back, vec![p(Esc)]),
            (Action::Quit, vec![c('q'), Key::ctrl('c')]),
            (Action::Mark, vec![c(' ')]),
            (Action::MarkAll, vec![c('a')]),
            (Action::UnmarkAll, vec![c('u')]),
            (Action::Invert, vec![c('i')]),
            (Action::Open, vec![p(Enter)]),
            (Action::Raw, vec![c('r')]),
            (Action::DetailsUp, vec![c('K'), c('[')]),
            (Action::DetailsDown, vec![c('J'), c(']')]),
            (Action::Copy, vec![c('y')]),
            (Action::Export, vec![c('e')]),
            (Action::Help, vec![c('?'), p(F(1))]),
            (Action::SignIn, vec![c('s')]),
            (Action::Review, vec![c('R')]),
            (Action::Pause, vec![c('p')]),
            (Action::CancelRun, vec![c('x')]),
            (Action::RetryFailed, vec![c('t')]),
            (Action::Report, vec![c('o')]),
        ];
        Keymap::from_table(table)
    }
}

impl Keymap {
    fn from_table(keys: Vec<(Action, Vec<Key>)>) -> Keymap {
        let mut by_key = HashMap::new();
        for (a, ks) in &keys {
            for k in ks {
                by_key.insert(*k, *a);
            }
        }
        Keymap { by_key, keys }
    }

    /// The default map with the config file's bindings applied; unknown
    /// actions or keys are reported, not fatal.
    pub fn with_overrides(overrides: &HashMap<String, Vec<String>>) -> (Keymap, Vec<String>) {
        let mut table = Keymap::default().keys;
        let mut problems = Vec::new();
        for (name, keys) in overrides {
            let Some(action) = Action::from_name(name) else {
                problems.push(format!("unknown action {name:?} in [keys]"));
                continue;
            };
            let mut parsed = Vec::new();
            for k in keys {
                match Key::parse(k) {
                    Some(key) => parsed.push(key),
                    None => problems.push(format!("unknown key {k:?} for {name}")),
                }
            }
            if parsed.is_empty() {
                continue;
            }
            // A key moved to this action leaves its old one.
            for (_, ks) in table.iter_mut() {
                ks.retain(|k| !parsed.contains(k));
            }
            if let Some(slot) = table.iter_mut().find(|(a, _)| *a == action) {
                slot.1 = parsed;
            }
        }
        (Keymap::from_table(table), problems)
    }

    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::from_event(e)).copied()
    }

    pub fn keys(&self, a: Action) -> &[Key] {
        self.keys
            .iter()
            .find(|(x, _)| *x == a)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// `key word` pairs for the hint line.
    /// The main path first (filter, mark, sign in, run), so that a
    /// narrow screen drops the others.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        const ORDER: [Action; 11] = [
            Action::Filter,
            Action::Mark,
            Action::MarkAll,
            Action::SignIn,
            Action::Review,
            Action::Quit,
            Action::NextView,
            Action::Help,
            Action::Raw,
            Action::Copy,
            Action::Export,
        ];
        ORDER
            .iter()
            .filter_map(|&a| Some((self.keys(a).first()?.to_string(), a.hint()?)))
            .collect()
    }

    /// Every action with its keys, for the help screen.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        self.keys
            .iter()
            .map(|(a, ks)| {
                let keys: Vec<String> = ks.iter().map(Key::to_string).collect();
                (keys.join(" "), a.describe())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        for s in [
            "x", "ctrl-d", "space", "tab", "pgdn", "f1", "alt-x", "G", "?",
        ] {
            let k = Key::parse(s).unwrap();
            let back = Key::parse(&k.to_string().replace('↑', "up")).unwrap();
            assert_eq!(k, back, "{s}");
        }
        assert!(Key::parse("ctrl-").is_none());
        assert!(Key::parse("nope").is_none());
    }

    #[test]
    fn overrides_move_keys_and_report_mistakes() {
        let mut o = HashMap::new();
        o.insert("mark".to_string(), vec!["m".to_string()]);
        o.insert("quit".to_string(), vec!["x".to_string(), "zz".to_string()]);
        o.insert("fly".to_string(), vec!["f".to_string()]);
        let (k, problems) = Keymap::with_overrides(&o);
        let ev = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(k.action(&ev('m')), Some(Action::Mark));
        assert_eq!(k.action(&ev(' ')), None);
        assert_eq!(k.action(&ev('x')), Some(Action::Quit));
        assert_eq!(k.action(&ev('q')), None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(k.hints().iter().any(|(key, w)| key == "m" && *w == "mark"));
    }
}
