//! `chatevict chats`: one row per chat, with who in the tenant it reaches.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use super::output;
use super::triage::{self, Triaged};
use super::{ChatsArgs, ChatsFormat};
use crate::triage::chats::{Chat, Chats, FoundBy, HomeUser, IdSource};
use crate::triage::query::Initiated;
use crate::ual::{Dataset, time};

#[derive(Serialize)]
struct ChatRow<'a> {
    id: &'a str,
    name: Option<&'a str>,
    communication_type: Option<&'a str>,
    initiated: Initiated,
    external: bool,
    guests: bool,
    home_tenant: Option<&'a str>,
    external_tenants: &'a [String],
    external_domains: &'a [String],
    first_seen: String,
    last_seen: String,
    records: usize,
    home_users: Vec<UserRow<'a>>,
    reasons: Vec<crate::triage::reasons::ReasonRow>,
}

#[derive(Serialize)]
struct UserRow<'a> {
    upn: &'a str,
    display_name: Option<&'a str>,
    object_id: Option<String>,
    id_source: IdSource,
    found_by: FoundBy,
    guest: bool,
    evidence: Vec<String>,
}

fn chat_row<'a>(ds: &'a Dataset, chats: &'a Chats, c: &'a Chat) -> ChatRow<'a> {
    let user = |u: &HomeUser| UserRow {
        upn: ds.str(u.upn),
        display_name: u.display_name.map(|n| ds.str(n)),
        object_id: u.object_id.map(|o| o.to_string()),
        id_source: u.id_source,
        found_by: u.found_by,
        guest: u.guest,
        evidence: u
            .evidence
            .iter()
            .map(|&i| ds.records[i as usize].id.to_string())
            .collect(),
    };
    ChatRow {
        id: ds.str(c.id),
        name: c.name.map(|n| ds.str(n)),
        communication_type: c.communication_type.map(|n| ds.str(n)),
        initiated: c.initiated,
        external: c.external,
        guests: c.guests,
        home_tenant: c.home_tenant.map(|n| ds.str(n)),
        external_tenants: c.external_tenants(),
        external_domains: c.external_domains(),
        first_seen: time::format_rfc3339(&c.first_seen),
        last_seen: time::format_rfc3339(&c.last_seen),
        records: c.record_count(),
        home_users: chats.home_users(ds, c).iter().map(user).collect(),
        reasons: crate::triage::plan::reason_rows(ds, c.reasons()),
    }
}

pub fn run(args: &ChatsArgs) -> u8 {
    triage::with(&args.load, args.filter.as_deref(), |t| {
        let mut chats = t.selected_chats();
        if let Some(order) = args.sort {
            order.sort(&t.ds, &t.ix, &mut chats);
        }
        let out = io::stdout();
        let tty = out.is_terminal();
        let mut w = io::BufWriter::new(out.lock());
        let result = match args.format {
            ChatsFormat::Jsonl => chats.iter().try_for_each(|&c| {
                output::write_json_line(&mut w, &chat_row(&t.ds, &t.ix.chats, &t.ix.chats.list[c]))
            }),
            ChatsFormat::Table => write_table(&mut w, t, &chats, output::terminal_width(tty)),
            ChatsFormat::Csv => write_csv(&mut w, t, &chats),
        }
        .and_then(|()| w.flush());
        t.exit_code(result)
    })
}

/// The CSV columns of `chats --format csv`.
const CSV_HEADER: &[&str] = &[
    "id",
    "name",
    "communication_type",
    "initiated",
    "external",
    "guests",
    "home_tenant",
    "external_tenants",
    "external_domains",
    "first_seen",
    "last_seen",
    "records",
    "home_users",
    "reasons",
];

/// One row per chat; lists are `;`-separated, home users and reasons are
/// JSON in their cells; every text cell is made safe.
fn write_csv<W: Write>(w: &mut W, t: &Triaged, chats: &[usize]) -> io::Result<()> {
    let mut c = csv::Writer::from_writer(w);
    c.write_record(CSV_HEADER)?;
    let cell = crate::sanitize::csv_cell;
    for &i in chats {
        let r = chat_row(&t.ds, &t.ix.chats, &t.ix.chats.list[i]);
        c.write_record([
            cell(r.id),
            cell(r.name.unwrap_or("")),
            cell(r.communication_type.unwrap_or("")),
            r.initiated.name().to_owned(),
            r.external.to_string(),
            r.guests.to_string(),
            cell(r.home_tenant.unwrap_or("")),
            cell(&r.external_tenants.join(";")),
            cell(&r.external_domains.join(";")),
            r.first_seen.clone(),
            r.last_seen.clone(),
            r.records.to_string(),
            cell(&crate::sanitize::json_line(&r.home_users)),
            cell(&crate::sanitize::json_line(&r.reasons)),
        ])?;
    }
    c.flush()
}

fn write_table<W: Write>(
    w: &mut W,
    t: &Triaged,
    chats: &[usize],
    width: Option<usize>,
) -> io::Result<()> {
    const EXT: usize = 3;
    const INIT: usize = 8;
    const TYPE: usize = 9;
    const RECS: usize = 5;
    const SEEN: usize = 16;
    const USERS: usize = 24;
    const DOMAINS: usize = 16;
    const FIXED: usize = EXT + INIT + TYPE + RECS + SEEN + USERS + DOMAINS + 7 * 2;
    let ds = &t.ds;
    let last = |s: &str| output::last_column(s, width, FIXED);
    writeln!(
        w,
        "{}  {}  {}  {:>RECS$}  {}  {}  {}  {}",
        output::fit("EXT", EXT),
        output::fit("STARTED", INIT),
        output::fit("TYPE", TYPE),
        "RECS",
        output::fit("LAST SEEN (UTC)", SEEN),
        output::fit("HOME USERS", USERS),
        output::fit("EXTERNAL DOMAINS", DOMAINS),
        last("CHAT")
    )?;
    for &i in chats {
        let c = &t.ix.chats.list[i];
        let home = t.ix.chats.home_users(ds, c);
        // The count first: it survives when the column is cut.
        let users = match &*home {
            [] => String::new(),
            [u, ..] => format!("{}: {}", home.len(), ds.str(u.upn)),
        };
        let name = c.name.map_or_else(|| ds.str(c.id), |n| ds.str(n));
        writeln!(
            w,
            "{}  {}  {}  {:>RECS$}  {}  {}  {}  {}",
            output::fit(if c.external { "ext" } else { "" }, EXT),
            output::fit(c.initiated.name(), INIT),
            output::fit(c.communication_type.map_or("", |s| ds.str(s)), TYPE),
            c.record_count(),
            c.last_seen.format("%Y-%m-%d %H:%M"),
            output::fit(&users, USERS),
            output::fit(&c.external_domains().join(","), DOMAINS),
            last(name)
        )?;
    }
    Ok(())
}
