//! Keys and the actions they name. The hint line and the help screen are
//! generated from this table, so they cannot drift from what the keys do;
//! the config file can rebind any action (`[keys]`, `action = "key"` or a
//! list of keys).

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is read: the lists (events, chats, the run), or a dialog
/// (its own small set; navigation keys are the lists').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    List,
    Dialog,
}

/// The one description of every action: its variant, the mode it is read
/// in, its name in the config file, what it does (the help screen), its
/// word on the hint line (`""`: not shown there) and its default keys.
/// Everything else about actions is derived from this list.
macro_rules! actions {
    ($($variant:ident $mode:ident $name:literal $what:literal $hint:literal [$($key:expr),*];)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in the config file.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What it does, for the help screen.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $what,)*
                }
            }

            /// Where its keys are read.
            pub fn mode(self) -> Mode {
                match self {
                    $(Action::$variant => Mode::$mode,)*
                }
            }

            /// The word on the hint line, for the actions shown there.
            fn hint(self) -> Option<&'static str> {
                match self {
                    $(Action::$variant => Some($hint).filter(|h: &&str| !h.is_empty()),)*
                }
            }

            fn defaults() -> Vec<(Action, Vec<Key>)> {
                #[allow(unused_imports)]
                use KeyCode::*;
                vec![$((Action::$variant, vec![$($key),*]),)*]
            }
        }
    };
}

const fn p(code: KeyCode) -> Key {
    Key::plain(code)
}

const fn c(ch: char) -> Key {
    Key::plain(KeyCode::Char(ch))
}

actions! {
    Up List "up" "previous row" "" [p(Up), c('k')];
    Down List "down" "next row" "" [p(Down), c('j')];
    PageUp List "page_up" "previous page" "" [p(PageUp), Key::ctrl('b'), Key::ctrl('u')];
    PageDown List "page_down" "next page" "" [p(PageDown), Key::ctrl('f'), Key::ctrl('d')];
    Top List "top" "first row" "" [p(Home), c('g')];
    Bottom List "bottom" "last row" "" [p(End), c('G')];
    NextView List "next_view" "switch between events and chats" "chats/events" [p(Tab), p(BackTab)];
    Filter List "filter" "edit the filter (live; confirm keeps it, cancel undoes it, up and down walk the history)" "filter" [c('/')];
    Sort List "sort" "order the list: events newest, oldest, by user, operation, chat, file order; chats by last seen, records, home users, name" "sort" [c('S')];
    Search List "search" "search the list (the filter language; live), keeping every row" "find" [c('f')];
    SearchNext List "search_next" "next row the search found" "" [c('n')];
    SearchPrev List "search_prev" "previous row the search found" "" [c('N')];
    Back List "back" "close the raw view, forget the search, go back to where opening a chat came from, else clear the filter" "" [p(Esc), p(Backspace)];
    Quit List "quit" "quit" "quit" [c('q'), Key::ctrl('c')];
    Mark List "mark" "mark or unmark the targets of the selected row's chat, then move down" "mark" [c(' ')];
    MarkAll List "mark_all" "mark every target of the matching external chats" "mark all" [c('a')];
    UnmarkAll List "unmark_all" "unmark everything (undoable)" "" [c('U')];
    Undo List "undo" "undo the last change of the marks" "" [c('u')];
    Invert List "invert" "invert the marks of the matching external chats" "" [c('i')];
    Open List "open" "chats: show the chat's records in the events view; run: the selected target, every value whole" "" [p(Enter)];
    Raw List "raw" "show or hide the raw AuditData" "raw" [c('r')];
    DetailsUp List "details_up" "scroll the details up" "" [c('K'), c('[')];
    DetailsDown List "details_down" "scroll the details down" "" [c('J'), c(']')];
    Copy List "copy" "copy an id of the selected row (OSC 52, works over SSH); in a dialog, what it shows" "copy" [c('y')];
    Export List "export" "write the marked targets as a plan file" "export" [c('e')];
    Help List "help" "this help" "help" [c('?'), p(F(1))];
    SignIn List "sign_in" "sign in to Entra ID (device code)" "sign in" [c('s')];
    Review List "review" "review the marked targets, then run their removal" "run" [c('R')];
    Fetch List "fetch" "fetch the audit log from the tenant (Graph's audit log query); the records join what is open" "fetch" [c('F')];
    Pause List "pause" "run: pause or resume" "" [c('p')];
    CancelRun List "cancel_run" "run: cancel (requests in flight finish); end a finished run" "" [c('x')];
    RetryFailed List "retry_failed" "run: try the failed targets again" "" [c('t')];
    Report List "report" "run: show the report of its journal" "" [c('o')];
    Confirm Dialog "confirm" "dialogs: do it (send the typed count, write the file, sign in, copy the chosen id)" "" [p(Enter)];
    Cancel Dialog "cancel" "dialogs: close without doing anything" "" [p(Esc)];
    Yes Dialog "yes" "dialogs: answer yes (quit during a run, cancel a run)" "" [c('y'), c('Y')];
    DryRun Dialog "dry_run" "review: switch between a dry run and a real one" "" [c('d')];
    Browser Dialog "browser" "sign-in: use a browser instead of a device code" "" [c('b')];
    SignOut Dialog "sign_out" "sign-in: sign out (deletes the saved session)" "" [c('o')];
    CopyShown Dialog "copy_shown" "sign-in: copy the code, or the address while typing one" "" [Key::ctrl('y')];
}

impl Action {
    fn from_name(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == s)
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

    /// The key as a terminal would send it (the mouse's wheel in a
    /// dialog acts as the keys bound to scrolling).
    pub fn to_event(self) -> KeyEvent {
        let mut m = KeyModifiers::NONE;
        if self.ctrl {
            m |= KeyModifiers::CONTROL;
        }
        if self.alt {
            m |= KeyModifiers::ALT;
        }
        KeyEvent::new(self.code, m)
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
    /// Per mode: a key means one action in the lists, and may mean
    /// another in a dialog.
    by_key: HashMap<(Mode, Key), Action>,
    keys: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::from_table(Action::defaults())
    }
}

impl Keymap {
    fn from_table(keys: Vec<(Action, Vec<Key>)>) -> Keymap {
        let mut by_key = HashMap::new();
        for (a, ks) in &keys {
            for k in ks {
                by_key.insert((a.mode(), *k), *a);
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
            // A key moved to this action leaves its old one (in the same
            // mode: the lists and the dialogs read keys apart).
            for (a, ks) in table.iter_mut() {
                if a.mode() == action.mode() {
                    ks.retain(|k| !parsed.contains(k));
                }
            }
            if let Some(slot) = table.iter_mut().find(|(a, _)| *a == action) {
                slot.1 = parsed;
            }
        }
        (Keymap::from_table(table), problems)
    }

    /// The list action of a key.
    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.by_key.get(&(Mode::List, Key::from_event(e))).copied()
    }

    /// The dialog action of a key.
    pub fn dialog_action(&self, e: &KeyEvent) -> Option<Action> {
        self.by_key
            .get(&(Mode::Dialog, Key::from_event(e)))
            .copied()
    }

    /// The dialog action of a key read while text is typed: a printable
    /// character types itself, whatever it is bound to.
    pub fn input_action(&self, e: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(e);
        if matches!(k.code, KeyCode::Char(_)) && !k.ctrl && !k.alt {
            return None;
        }
        self.dialog_action(e)
    }

    /// Two actions' first keys as one hint: `↑↓`, or `ctrl-p/ctrl-n`.
    pub fn pair(&self, a: Action, b: Action) -> String {
        let (x, y) = (self.key(a), self.key(b));
        if x.chars().count() == 1 && y.chars().count() == 1 {
            format!("{x}{y}")
        } else {
            format!("{x}/{y}")
        }
    }

    /// The first key of `a`, as hints and help lines name it; `-` when the
    /// config unbound it.
    pub fn key(&self, a: Action) -> String {
        self.keys(a)
            .first()
            .map_or_else(|| "-".to_owned(), Key::to_string)
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
        const ORDER: [Action; 12] = [
            Action::Filter,
            Action::Search,
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

    /// Every action with its keys, for the help screen: the lists' first,
    /// then the dialogs'.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        let mut keys: Vec<&(Action, Vec<Key>)> = self.keys.iter().collect();
        keys.sort_by_key(|(a, _)| a.mode());
        keys.into_iter()
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
