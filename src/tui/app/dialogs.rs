//! The dialogs over the screen. Each updates itself from keys and tells
//! the application what follows; sign-in and the review before a run act
//! on the run's state, so the application handles those two itself.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{Effect, RunControl};
use crate::tui::keymap::{Action, Keymap};

#[derive(Debug)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// Which id to copy: (label, value).
    Copy {
        items: Vec<(String, String)>,
        sel: usize,
    },
    /// Write a file: the name being typed.
    Export {
        input: Input,
        /// The file named exists and the user was told: the next confirm
        /// replaces it. Typing clears it.
        replace: bool,
        what: Export,
    },
    SignIn,
    Review(Box<crate::tui::run::Review>),
    /// Fetching the audit log: the form, then the fetch's progress (the
    /// state is the application's `fetch`).
    Fetch,
    /// Quit while a run is in progress?
    QuitRun,
    /// Cancel the run?
    CancelRun,
    Report {
        lines: Vec<String>,
        scroll: u16,
    },
    /// One table row, value by value, each whole: (label, value).
    Detail {
        title: String,
        fields: Vec<(String, String)>,
        scroll: u16,
    },
}

/// What a file written from a dialog holds.
#[derive(Debug)]
pub enum Export {
    /// The plan of the marked targets.
    Plan,
    /// The run's report, as Markdown.
    Report(Vec<String>),
}

/// What a key in a dialog asks of the application.
#[derive(Debug)]
pub enum DialogKey {
    /// The dialog stays (perhaps changed).
    Open(Dialog),
    /// The dialog closed; say `status`, run `effects`.
    Closed {
        status: Option<String>,
        effects: Vec<Effect>,
    },
    /// Write this to the file.
    Export(PathBuf, Export),
    /// Not a dialog that handles its own keys (sign-in, review).
    Unhandled(Dialog),
}

impl DialogKey {
    fn closed() -> DialogKey {
        DialogKey::Closed {
            status: None,
            effects: vec![],
        }
    }

    fn said(status: String, effects: Vec<Effect>) -> DialogKey {
        DialogKey::Closed {
            status: Some(status),
            effects,
        }
    }
}

impl Dialog {
    pub fn key(self, k: KeyEvent, keymap: &Keymap) -> DialogKey {
        let action = keymap.action(&k);
        let scrolled = |scroll: u16| match action {
            Some(Action::Down) => Some(scroll.saturating_add(1)),
            Some(Action::Up) => Some(scroll.saturating_sub(1)),
            Some(Action::PageDown) => Some(scroll.saturating_add(10)),
            Some(Action::PageUp) => Some(scroll.saturating_sub(10)),
            _ => None,
        };
        match self {
            Dialog::SignIn | Dialog::Review(_) | Dialog::Fetch => DialogKey::Unhandled(self),
            Dialog::QuitRun => match keymap.dialog_action(&k) {
                Some(Action::Yes) => DialogKey::Closed {
                    status: None,
                    effects: vec![Effect::Quit],
                },
                _ => DialogKey::closed(),
            },
            Dialog::CancelRun => match keymap.dialog_action(&k) {
                Some(Action::Yes) => DialogKey::Closed {
                    status: None,
                    effects: vec![Effect::Control(RunControl::Cancel)],
                },
                _ => DialogKey::said("the run goes on".into(), vec![]),
            },
            Dialog::Report { lines, scroll } => {
                if action == Some(Action::Copy) {
                    return DialogKey::said(
                        "copied the report to the clipboard".into(),
                        vec![Effect::Copy(lines.join("\n"))],
                    );
                }
                if action == Some(Action::Export) {
                    return DialogKey::Open(Dialog::Export {
                        input: Input::new("chatevict-report.md".into()),
                        replace: false,
                        what: Export::Report(lines),
                    });
                }
                match scrolled(scroll) {
                    Some(scroll) => DialogKey::Open(Dialog::Report { lines, scroll }),
                    None => DialogKey::closed(),
                }
            }
            Dialog::Detail {
                title,
                fields,
                scroll,
            } => {
                if action == Some(Action::Copy) {
                    return DialogKey::Open(Dialog::Copy {
                        items: fields,
                        sel: 0,
                    });
                }
                match scrolled(scroll) {
                    Some(scroll) => DialogKey::Open(Dialog::Detail {
                        title,
                        fields,
                        scroll,
                    }),
                    None => DialogKey::closed(),
                }
            }
            Dialog::Help { scroll } => match scrolled(scroll) {
                Some(scroll) => DialogKey::Open(Dialog::Help { scroll }),
                None => DialogKey::closed(),
            },
            Dialog::Copy { items, sel } => {
                let copy = |i: usize| {
                    let (label, value) = items[i].clone();
                    DialogKey::said(
                        format!("copied the {} to the clipboard", label.to_lowercase()),
                        vec![Effect::Copy(value)],
                    )
                };
                match (k.code, action, keymap.dialog_action(&k)) {
                    (_, _, Some(Action::Confirm)) | (_, Some(Action::Copy), _) => copy(sel),
                    (KeyCode::Char(c), _, _) if c.is_ascii_digit() && c != '0' => {
                        let i = (c as u8 - b'1') as usize;
                        if i < items.len() {
                            copy(i)
                        } else {
                            DialogKey::Open(Dialog::Copy { items, sel })
                        }
                    }
                    (_, Some(Action::Down), _) => {
                        let sel = (sel + 1).min(items.len() - 1);
                        DialogKey::Open(Dialog::Copy { items, sel })
                    }
                    (_, Some(Action::Up), _) => DialogKey::Open(Dialog::Copy {
                        items,
                        sel: sel.saturating_sub(1),
                    }),
                    (_, _, Some(Action::Cancel)) | (_, Some(Action::Quit), _) => {
                        DialogKey::closed()
                    }
                    _ => DialogKey::Open(Dialog::Copy { items, sel }),
                }
            }
            Dialog::Export {
                mut input,
                replace,
                what,
            } => match keymap.input_action(&k) {
                Some(Action::Cancel) => DialogKey::closed(),
                Some(Action::Confirm) => {
                    let path = PathBuf::from(input.value().trim());
                    if path.as_os_str().is_empty() {
                        return DialogKey::Open(Dialog::Export {
                            input,
                            replace,
                            what,
                        });
                    }
                    // A file already there is replaced only when asked
                    // twice (a FIFO or /dev/null is written into, never
                    // replaced: no need to ask).
                    if !replace && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                        return DialogKey::Open(Dialog::Export {
                            input,
                            replace: true,
                            what,
                        });
                    }
                    DialogKey::Export(path, what)
                }
                _ => {
                    let changed = input
                        .handle_event(&crossterm::event::Event::Key(k))
                        .is_some_and(|c| c.value);
                    DialogKey::Open(Dialog::Export {
                        input,
                        replace: replace && !changed,
                        what,
                    })
                }
            },
        }
    }
}
