//! The filter bar: a line editor with a history, that knows which text
//! was applied and why the text being typed is not a query. It updates
//! itself from keys and tells the application what follows.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::triage::query::{self, Query, QueryError};
use crate::tui::keymap::{Action, Keymap};

/// The filter bar.
pub struct FilterBar {
    pub input: Input,
    pub editing: bool,
    /// The text before editing began (Esc goes back to it).
    before: String,
    /// The query whose result is shown, and its text.
    pub applied: Query,
    pub applied_text: String,
    /// Why the text being typed is not a query (the last good result
    /// stays on screen).
    pub error: Option<QueryError>,
    pub history: Vec<String>,
    hist: Option<usize>,
    /// The latest job asked for; older answers are dropped.
    pub job: u64,
    pub running: bool,
}

/// What a key in the bar asks of the application.
#[derive(Debug, PartialEq, Eq)]
pub enum BarKey {
    /// Nothing beyond the bar itself.
    Nothing,
    /// The text changed: run it if it is a query ([`FilterBar::wanted`]).
    Changed,
    /// Enter on a text that is not a query (`reason`): the bar went back
    /// to the text from before (`kept`); [`not_applied`] says so.
    NotApplied {
        reason: String,
        kept: String,
    },
    Quit,
}

/// What the status says when enter meets a text that is not a query:
/// `what` is the bar's name (filter, search).
pub fn not_applied(what: &str, reason: &str, kept: &str) -> String {
    let kept = if kept.is_empty() {
        "empty".to_owned()
    } else {
        format!("`{kept}`")
    };
    format!("not applied ({reason}); the {what} stays {kept}")
}

impl Default for FilterBar {
    fn default() -> FilterBar {
        FilterBar {
            input: Input::default(),
            editing: false,
            before: String::new(),
            applied: Query::All,
            applied_text: String::new(),
            error: None,
            history: Vec::new(),
            hist: None,
            job: 0,
            running: false,
        }
    }
}

impl FilterBar {
    /// Editing begins: Esc will come back to the text as it is now.
    pub fn open(&mut self) {
        self.editing = true;
        self.before = self.input.value().to_owned();
        self.hist = None;
    }

    /// Empty and idle again, its history kept; an answer on its way is
    /// outdated.
    pub fn clear(&mut self) {
        *self = FilterBar {
            history: std::mem::take(&mut self.history),
            job: self.job + 1,
            ..FilterBar::default()
        };
    }

    /// A key while editing. Printable keys type; the dialogs' confirm and
    /// cancel keys keep or undo the text; the lists' up and down (arrow
    /// keys by default) walk the history.
    pub fn key(&mut self, k: KeyEvent, keymap: &Keymap) -> BarKey {
        let history = match keymap.input_action(&k) {
            Some(Action::Confirm) => {
                self.editing = false;
                if let Some(e) = self.error.take() {
                    // Not applied: the bar and the list go back together
                    // to the filter from before, and the user is told.
                    let before = std::mem::take(&mut self.before);
                    let kept = before.trim().to_owned();
                    self.input = Input::new(before);
                    return BarKey::NotApplied {
                        reason: e.reason,
                        kept,
                    };
                }
                let text = self.input.value().trim().to_owned();
                if !text.is_empty() {
                    self.history.retain(|h| *h != text);
                    self.history.push(text);
                }
                return BarKey::Nothing;
            }
            Some(Action::Cancel) => {
                self.editing = false;
                self.input = Input::new(std::mem::take(&mut self.before));
                return BarKey::Changed;
            }
            _ if matches!(k.code, KeyCode::Char(_)) => None,
            _ => match keymap.action(&k) {
                Some(Action::Up) => Some(true),
                Some(Action::Down) => Some(false),
                _ => None,
            },
        };
        if let Some(up) = history {
            let h = &self.history;
            if h.is_empty() {
                return BarKey::Nothing;
            }
            let next = match (up, self.hist) {
                (true, None) => Some(h.len() - 1),
                (true, Some(i)) => Some(i.saturating_sub(1)),
                (false, Some(i)) if i + 1 < h.len() => Some(i + 1),
                _ => None,
            };
            self.hist = next;
            self.input = Input::new(next.map(|i| h[i].clone()).unwrap_or_default());
            return BarKey::Changed;
        }
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            return BarKey::Quit;
        }
        let changed = self
            .input
            .handle_event(&crossterm::event::Event::Key(k))
            .is_some_and(|c| c.value);
        if changed {
            BarKey::Changed
        } else {
            BarKey::Nothing
        }
    }

    /// The query the text asks for, when it is one and is not the one
    /// shown already; else the reason is kept in `error`.
    pub fn wanted(&mut self) -> Option<Query> {
        let text = self.input.value();
        if text.trim().is_empty() {
            self.error = None;
            return Some(Query::All);
        }
        match query::parse(text) {
            Ok(q) => {
                self.error = None;
                (q != self.applied || self.running).then_some(q)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(bar: &mut FilterBar, km: &Keymap, text: &str) {
        for c in text.chars() {
            bar.key(key(KeyCode::Char(c)), km);
        }
    }

    #[test]
    fn typing_esc_and_enter() {
        let km = Keymap::default();
        let mut bar = FilterBar::default();
        bar.open();
        typed(&mut bar, &km, "ext:yes");
        assert_eq!(bar.wanted(), Some(query::parse("ext:yes").unwrap()));
        bar.applied = query::parse("ext:yes").unwrap();
        assert_eq!(bar.wanted(), None, "shown already");
        assert_eq!(bar.key(key(KeyCode::Enter), &km), BarKey::Nothing);
        assert_eq!(bar.history, ["ext:yes"]);
        // Esc goes back to the text from before editing.
        bar.open();
        typed(&mut bar, &km, " user:a");
        assert_eq!(bar.key(key(KeyCode::Esc), &km), BarKey::Changed);
        assert_eq!(bar.input.value(), "ext:yes");
        assert!(!bar.editing);
    }

    #[test]
    fn enter_on_a_broken_query_goes_back_and_says_so() {
        let km = Keymap::default();
        let mut bar = FilterBar::default();
        bar.open();
        typed(&mut bar, &km, "ext:maybe");
        assert_eq!(bar.wanted(), None);
        assert!(bar.error.is_some());
        let BarKey::NotApplied { reason, kept } = bar.key(key(KeyCode::Enter), &km) else {
            panic!()
        };
        let said = not_applied("filter", &reason, &kept);
        assert!(said.contains("the filter stays empty"), "{said}");
        assert_eq!(bar.input.value(), "");
        assert!(bar.history.is_empty());
    }

    #[test]
    fn the_history_walks_up_and_down() {
        let km = Keymap::default();
        let mut bar = FilterBar::default();
        for q in ["op:MemberAdded", "ext:yes"] {
            bar.open();
            bar.input = Input::default();
            typed(&mut bar, &km, q);
            bar.wanted();
            bar.key(key(KeyCode::Enter), &km);
        }
        bar.open();
        bar.input = Input::default();
        assert_eq!(bar.key(key(KeyCode::Up), &km), BarKey::Changed);
        assert_eq!(bar.input.value(), "ext:yes");
        bar.key(key(KeyCode::Up), &km);
        assert_eq!(bar.input.value(), "op:MemberAdded");
        bar.key(key(KeyCode::Down), &km);
        assert_eq!(bar.input.value(), "ext:yes");
        bar.key(key(KeyCode::Down), &km);
        assert_eq!(bar.input.value(), "");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(bar.key(ctrl_c, &km), BarKey::Quit);
    }
}
