//! Markdown (the run's report) as lines a terminal reads well: headings
//! as titles, lists as lists, and tables as aligned columns when they fit
//! the width, else as one block of `column: value` lines per row, so that
//! no request id or server error is cut off.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::widgets::safe;
use crate::tui::theme::{Role, Theme};

/// `md` as lines for `width` columns (long lines are left to wrap).
pub fn lines(md: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut text = String::new();
    let mut lists = 0usize;
    let mut table: Option<Table> = None;
    let flush = |out: &mut Vec<Line<'static>>, text: &mut String, role: Option<Role>| {
        let t = std::mem::take(text);
        if t.trim().is_empty() {
            return;
        }
        out.push(match role {
            Some(r) => Line::styled(safe(&t), theme.style(r)),
            None => Line::raw(safe(&t)),
        });
    };
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { .. }) => flush(&mut out, &mut text, None),
            Event::End(TagEnd::Heading(_)) => {
                gap(&mut out);
                flush(&mut out, &mut text, Some(Role::Title));
                out.push(Line::raw(""));
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut out, &mut text, None);
                lists += 1;
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut out, &mut text, None);
                lists = lists.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                flush(&mut out, &mut text, None);
                text.push_str(&"  ".repeat(lists.saturating_sub(1)));
                text.push_str("- ");
            }
            Event::End(TagEnd::Item) | Event::End(TagEnd::Paragraph) => {
                flush(&mut out, &mut text, None);
            }
            Event::Start(Tag::Table(_)) => {
                flush(&mut out, &mut text, None);
                gap(&mut out);
                table = Some(Table::default());
            }
            Event::End(TagEnd::Table) => {
                if let Some(t) = table.take() {
                    t.render(width, theme, &mut out);
                }
                gap(&mut out);
            }
            Event::Start(Tag::TableRow) | Event::Start(Tag::TableHead) => {
                if let Some(t) = &mut table {
                    t.rows.push(Vec::new());
                }
            }
            Event::End(TagEnd::TableCell) => {
                if let Some(t) = &mut table
                    && let Some(row) = t.rows.last_mut()
                {
                    row.push(safe(std::mem::take(&mut text).trim()));
                }
            }
            Event::Text(s) | Event::Code(s) => text.push_str(&s),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    flush(&mut out, &mut text, None);
    while out.last().is_some_and(|l| l.width() == 0) {
        out.pop();
    }
    out
}

/// One empty line between blocks (none at the top, never two).
fn gap(out: &mut Vec<Line<'static>>) {
    if out.last().is_some_and(|l| l.width() > 0) {
        out.push(Line::raw(""));
    }
}

/// A table's cells, its header first.
#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn render(self, width: u16, theme: &Theme, out: &mut Vec<Line<'static>>) {
        let Some((head, body)) = self.rows.split_first() else {
            return;
        };
        let cols = head.len();
        let mut widths = vec![0usize; cols];
        for row in &self.rows {
            for (i, c) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let total = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        if total <= width as usize {
            let line = |row: &[String]| {
                let mut s = String::new();
                for (i, w) in widths.iter().enumerate() {
                    let c = row.get(i).map_or("", String::as_str);
                    s.push_str(c);
                    if i + 1 < cols {
                        s.push_str(&" ".repeat(w - c.width() + 2));
                    }
                }
                s
            };
            out.push(Line::styled(line(head), theme.style(Role::Title)));
            out.extend(body.iter().map(|r| Line::raw(line(r))));
            return;
        }
        // Too wide: each row a block of `column  value` lines.
        let label = head.iter().map(|h| h.width()).max().unwrap_or(0);
        for (n, row) in body.iter().enumerate() {
            if n > 0 {
                out.push(Line::raw(""));
            }
            for (h, c) in head.iter().zip(row) {
                if c.is_empty() {
                    continue;
                }
                out.push(Line::from(vec![
                    Span::styled(format!("{h:<label$}  "), theme.style(Role::Dim)),
                    Span::raw(c.clone()),
                ]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(md: &str, width: u16) -> Vec<String> {
        lines(md, width, &Theme::new(false, false))
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    const MD: &str = "# chatevict removal report\n\n- Journal: `j.jsonl`\n- Tenant: t\n\n\
        | Result | Targets |\n|---|---:|\n| removed | 3 |\n| failed | 1 |\n\n\
        ## Not removed\n\n| Chat | User | Error | Request id |\n|---|---|---|---|\n\
        | 19:abc@thread.v2 | a@contoso.com | 503: Service Unavailable | 4f0c-req |\n";

    #[test]
    fn headings_lists_and_a_table_that_fits() {
        let t = text(MD, 200);
        assert_eq!(t[0], "chatevict removal report");
        assert!(t.contains(&"- Journal: j.jsonl".to_owned()), "{t:#?}");
        assert!(t.contains(&"Result   Targets".to_owned()), "{t:#?}");
        assert!(t.contains(&"removed  3".to_owned()), "{t:#?}");
        // Nothing of the Markdown syntax is left.
        assert!(
            t.iter()
                .all(|l| !l.contains('|') && !l.contains('#') && !l.contains('`'))
        );
    }

    #[test]
    fn a_table_too_wide_becomes_blocks_with_every_value_whole() {
        let t = text(MD, 60);
        for whole in ["19:abc@thread.v2", "503: Service Unavailable", "4f0c-req"] {
            assert!(t.iter().any(|l| l.ends_with(whole)), "{whole}: {t:#?}");
        }
        assert!(t.contains(&"Request id  4f0c-req".to_owned()), "{t:#?}");
        // The small table still fits as columns.
        assert!(t.contains(&"removed  3".to_owned()), "{t:#?}");
    }

    #[test]
    fn what_a_server_said_is_made_safe() {
        let t = text("| A | B |\n|---|---|\n| x\u{1b}[31m | y |\n", 80);
        assert!(t.iter().all(|l| !l.contains('\u{1b}')), "{t:#?}");
    }
}
