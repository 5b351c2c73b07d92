use proptest::prelude::*;

use super::*;

fn text(field: Option<TextField>, t: &str) -> Query {
    Query::Term(Term::Text {
        field,
        pattern: Pattern::Text(t.into()),
    })
}

fn err_at(q: &str) -> (usize, String) {
    let e = parse(q).expect_err(q);
    (e.at, e.reason)
}

#[test]
fn words_phrases_and_fields() {
    assert_eq!(parse("").unwrap(), Query::All);
    assert_eq!(parse("   ").unwrap(), Query::All);
    assert_eq!(parse("alice").unwrap(), text(None, "alice"));
    assert_eq!(
        parse("\"Payroll update\"").unwrap(),
        text(None, "Payroll update")
    );
    assert_eq!(
        parse("op:MemberAdded").unwrap(),
        text(Some(TextField::Op), "MemberAdded")
    );
    assert_eq!(
        parse("OP:MemberAdded").unwrap(),
        text(Some(TextField::Op), "MemberAdded")
    );
    assert_eq!(
        parse("name:\"say \\\"hi\\\"\"").unwrap(),
        text(Some(TextField::Name), "say \"hi\"")
    );
    // Chat ids have a colon but no field name before it.
    assert_eq!(
        parse("19:abc@thread.v2").unwrap(),
        text(None, "19:abc@thread.v2")
    );
    assert_eq!(
        parse("chat:19:abc@thread.v2").unwrap(),
        text(Some(TextField::Chat), "19:abc@thread.v2")
    );
    assert_eq!(
        parse("/^Member(Added|Removed)$/").unwrap(),
        Query::Term(Term::Text {
            field: None,
            pattern: Pattern::Regex("^Member(Added|Removed)$".into())
        })
    );
    assert_eq!(
        parse("user:/a\\/b/").unwrap(),
        Query::Term(Term::Text {
            field: Some(TextField::User),
            pattern: Pattern::Regex("a/b".into())
        })
    );
}

#[test]
fn flags_initiated_and_time() {
    assert_eq!(
        parse("ext:yes guest:NO marked:y").unwrap(),
        Query::And(vec![
            Query::Term(Term::Flag {
                field: FlagField::Ext,
                yes: true
            }),
            Query::Term(Term::Flag {
                field: FlagField::Guest,
                yes: false
            }),
            Query::Term(Term::Flag {
                field: FlagField::Marked,
                yes: true
            }),
        ])
    );
    assert_eq!(
        parse("initiated:External").unwrap(),
        Query::Term(Term::Initiated(Initiated::External))
    );
    let Query::Term(Term::Time { cmp, at }) = parse("after:2026-10-01").unwrap() else {
        panic!()
    };
    assert_eq!(cmp, Cmp::Ge);
    assert!(at.date_only);
    assert_eq!(at.at.to_rfc3339(), "2026-10-01T00:00:00+00:00");
    let Query::Term(Term::Time { cmp, at }) = parse("time:<=2026-10-01T14:30").unwrap() else {
        panic!()
    };
    assert_eq!(cmp, Cmp::Le);
    assert_eq!(at.at.to_rfc3339(), "2026-10-01T14:30:00+00:00");
    let Query::Term(Term::Time { cmp, .. }) = parse("before:2026-10-01T14:30:00Z").unwrap() else {
        panic!()
    };
    assert_eq!(cmp, Cmp::Lt);
    assert!(matches!(
        parse("time:>2026-10-01").unwrap(),
        Query::Term(Term::Time { cmp: Cmp::Gt, .. })
    ));
}

#[test]
fn boolean_structure() {
    let a = || text(None, "a");
    let b = || text(None, "b");
    let c = || text(None, "c");
    assert_eq!(parse("a b").unwrap(), Query::And(vec![a(), b()]));
    assert_eq!(parse("a AND b").unwrap(), Query::And(vec![a(), b()]));
    assert_eq!(
        parse("a b OR c").unwrap(),
        Query::Or(vec![Query::And(vec![a(), b()]), c()])
    );
    assert_eq!(
        parse("a (b OR c)").unwrap(),
        Query::And(vec![a(), Query::Or(vec![b(), c()])])
    );
    assert_eq!(parse("-a").unwrap(), Query::Not(Box::new(a())));
    assert_eq!(
        parse("-(a OR b) c").unwrap(),
        Query::And(vec![Query::Not(Box::new(Query::Or(vec![a(), b()]))), c()])
    );
    assert_eq!(parse("((a))").unwrap(), a());
    // Lowercase `or` is a word.
    assert_eq!(
        parse("a or b").unwrap(),
        Query::And(vec![a(), text(None, "or"), b()])
    );
    // A hyphen inside a word is text.
    assert_eq!(parse("e-mail").unwrap(), text(None, "e-mail"));
}

#[test]
fn half_typed_and_wrong_queries_say_where() {
    assert_eq!(err_at("op:").0, 0);
    assert!(err_at("op:").1.contains("needs a value"));
    assert_eq!(err_at("alice op:").0, 6);
    assert!(err_at("usr:bob").1.contains("unknown field `usr:`"));
    assert_eq!(err_at("a (b").0, 2);
    assert!(err_at("a (b").1.contains("never closed"));
    assert_eq!(err_at("a)").0, 1);
    assert_eq!(err_at("a OR").0, 2);
    assert!(err_at("OR a").1.contains("before"));
    assert!(err_at("a -").1.contains("`-`"));
    assert!(err_at("\"open").1.contains("unclosed quote"));
    assert!(err_at("/open").1.contains("unclosed regex"));
    assert!(err_at("/(/").1.starts_with("bad regex"));
    assert!(err_at("ext:maybe").1.contains("yes or no"));
    assert!(err_at("initiated:sideways").1.contains("external"));
    assert!(err_at("after:yesterday").1.contains("no date"));
    assert!(err_at("time:2026-10-01").1.contains(">"));
    assert!(err_at("ext:/y/").1.contains("not a regex"));
    assert!(err_at("()").1.contains("empty"));
    // Positions count characters, not bytes.
    assert_eq!(err_at("ünïcode op:").0, 8);
}

#[test]
fn printing_is_canonical_and_reparses() {
    for (q, printed) in [
        ("a   b", "a b"),
        ("a AND b OR c", "a b OR c"),
        ("(a OR b) c", "(a OR b) c"),
        ("-(a b)", "-(a b)"),
        ("\"x y\" \"OR\" \"\"", "\"x y\" \"OR\" \"\""),
        ("\"op:x\"", "\"op:x\""),
        ("19:a@thread.v2", "19:a@thread.v2"),
        ("name:\"-x\"", "name:\"-x\""),
        (
            "after:2026-10-01 time:>2026-10-01T14:30",
            "after:2026-10-01 time:>2026-10-01T14:30:00Z",
        ),
        ("user:/a\\/b/", "user:/a\\/b/"),
        ("EXT:Y", "ext:yes"),
    ] {
        let parsed = parse(q).unwrap();
        assert_eq!(parsed.to_string(), printed, "{q}");
        assert_eq!(parse(printed).unwrap(), parsed, "{q}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any text: no panic, and what parses prints to text that parses the same.
    #[test]
    fn any_text_parses_or_errs_and_round_trips(
        s in proptest::collection::vec(
            prop_oneof![
                Just("a".to_string()), Just("op:".to_string()), Just("ext:".to_string()),
                Just(" ".to_string()), Just("(".to_string()), Just(")".to_string()),
                Just("\"".to_string()), Just("/".to_string()), Just("-".to_string()),
                Just("OR".to_string()), Just("AND".to_string()), Just("\\".to_string()),
                Just(":".to_string()), Just("yes".to_string()), Just("é".to_string()),
                Just("time:>".to_string()), Just("2026-10-01".to_string()), Just("[".to_string()),
            ],
            0..14,
        ).prop_map(|v| v.concat())
    ) {
        if let Ok(q) = parse(&s) {
            let printed = q.to_string();
            prop_assert_eq!(parse(&printed), Ok(q), "printed as {:?}", printed);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,40}") {
        let _ = parse(&s);
    }

    /// Any query: printing and parsing gives it back.
    #[test]
    fn any_query_round_trips(q in arb_query()) {
        let printed = q.to_string();
        prop_assert_eq!(parse(&printed), Ok(q), "printed as {:?}", printed);
    }
}

fn arb_term() -> impl Strategy<Value = Term> {
    let field = prop_oneof![
        Just(None),
        proptest::sample::select(TextField::ALL.to_vec()).prop_map(Some)
    ];
    let pattern = prop_oneof![
        "[a-zA-Z0-9 :@.\"\\\\()/#-]{0,12}".prop_map(Pattern::Text),
        "[a-z0-9.]{1,8}".prop_map(Pattern::Regex),
    ];
    prop_oneof![
        (field, pattern).prop_map(|(field, pattern)| Term::Text { field, pattern }),
        (
            proptest::sample::select(vec![FlagField::Ext, FlagField::Guest, FlagField::Marked]),
            any::<bool>()
        )
            .prop_map(|(field, yes)| Term::Flag { field, yes }),
        proptest::sample::select(vec![
            Initiated::External,
            Initiated::Internal,
            Initiated::Unknown
        ])
        .prop_map(Term::Initiated),
        (
            proptest::sample::select(vec![Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge]),
            0i64..4_000_000_000,
            any::<bool>()
        )
            .prop_map(|(cmp, secs, date_only)| {
                let secs = if date_only {
                    secs - secs % 86_400
                } else {
                    secs
                };
                Term::Time {
                    cmp,
                    at: Instant {
                        at: chrono::DateTime::from_timestamp(secs, 0).unwrap(),
                        date_only,
                    },
                }
            }),
    ]
}

fn arb_query() -> impl Strategy<Value = Query> {
    let leaf = arb_term().prop_map(Query::Term);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|q| Query::Not(Box::new(q))),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
            proptest::collection::vec(inner, 2..4).prop_map(Query::Or),
        ]
    })
}

#[test]
fn a_filter_uses_marks_only_where_marked_is_a_term() {
    let uses = |s: &str| parse(s).unwrap().uses_marks();
    assert!(uses("marked:yes"));
    assert!(uses("op:MemberAdded (ext:yes OR -marked:no)"));
    // The word in a text, a chat name or a regex is no use of the marks.
    assert!(!uses("\"marked:yes\""));
    assert!(!uses("name:marked"));
    assert!(!uses("ext:yes"));
    assert!(!uses(""));
}
