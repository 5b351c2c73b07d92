#!/usr/bin/env python3
"""Writes assets/demo-export.csv: the bundled demo export of chatevict.

A Purview "Audit (New search)" CSV (8 columns, CRLF, AuditData quoted) for
the fictitious tenant Contoso, written for the project (no real data). It
holds the situations the tool exists for, so that every feature can be
shown on it:

* external chats, one-on-one and group, started by the outsider (their
  tenant hosts the chat: ResourceTenantId is theirs) and by a home user;
* chats that reach several home users; a MemberAdded whose Members carry
  no OrganizationId (Microsoft's documented procedure uses UserId there);
* guests (#EXT# accounts of the home tenant), team-channel events (never
  chats), an anonymous (unauthenticated) meeting-chat participant;
* hostile display names: an escape sequence, a bidi override, a no-break
  space, a zero-width space, bidi isolates;
* Exchange, SharePoint/OneDrive and Entra ID sign-in noise around them.

Deterministic: run it again and the file is byte-identical.
Usage: python3 assets/make_demo.py [OUT]
"""
import json
import random
import sys
import uuid
from datetime import datetime, timedelta

R = random.Random(20261129)


def guid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


HOME = {"tenant": guid(), "domain": "contoso.com"}
USERS = [
    ("Megan Bowen", "megan.bowen"), ("Alex Wilber", "alex.wilber"), ("Adele Vance", "adele.vance"),
    ("Diego Siciliani", "diego.siciliani"), ("Grady Archie", "grady.archie"), ("Isaiah Langer", "isaiah.langer"),
    ("Johanna Lorenz", "johanna.lorenz"), ("Lee Gu", "lee.gu"), ("Lidia Holloway", "lidia.holloway"),
    ("Lynne Robbins", "lynne.robbins"), ("Miriam Graham", "miriam.graham"), ("Nestor Wilke", "nestor.wilke"),
    ("Patti Fernandez", "patti.fernandez"), ("Pradeep Gupta", "pradeep.gupta"), ("Henrietta Mueller", "henrietta.mueller"),
    ("Joni Sherman", "joni.sherman"), ("Christie Cline", "christie.cline"), ("Enrico Cattaneo", "enrico.cattaneo"),
    ("Zoë Ångström", "zoe.angstrom"), ("田中 太郎", "taro.tanaka"),
]
HOME_USERS = [{"name": n, "upn": f"{a}@contoso.com", "oid": guid(), "tenant": HOME["tenant"]} for n, a in USERS]

EXT_TENANTS = {d: guid() for d in ["fabrikam.com", "northwindtraders.com", "adatum.com", "tailspintoys.com", "litware.org"]}


def ext(name, alias, domain):
    return {"name": name, "upn": f"{alias}@{domain}", "oid": guid(), "tenant": EXT_TENANTS[domain], "domain": domain}


OUTSIDERS = [
    ext("Rob Young", "rob.young", "fabrikam.com"),
    ext("Kari Hensien", "kari.hensien", "fabrikam.com"),
    ext("Nancy Freeman", "nancy", "northwindtraders.com"),
    ext("\x1b[31mURGENT\x1b[0m IT Helpdesk", "helpdesk-support", "adatum.com"),        # escape sequence
    ext("Payroll \u202egpj.exe", "payroll", "tailspintoys.com"),                         # bidi override
    ext("Megan\u00a0Bowen", "megan.bowen", "litware.org"),                                # NBSP look-alike
    ext("IT\u200bSupport Desk", "itsupport", "adatum.com"),                               # zero-width space
    ext("\u2066Chief Executive\u2069", "ceo-office", "litware.org"),                      # bidi isolates
    ext("Sanjay Shah", "sanjay", "northwindtraders.com"),
    ext("Yvonne McKay", "yvonne", "tailspintoys.com"),
]
GUESTS = [{"name": "Ann Beebe (Guest)", "upn": "ann.beebe_proseware.net#EXT#@contoso.onmicrosoft.com",
           "oid": guid(), "tenant": HOME["tenant"], "guest": True},
          {"name": "Paul Henderson (Guest)", "upn": "paul_gmail.com#EXT#@contoso.onmicrosoft.com",
           "oid": guid(), "tenant": HOME["tenant"], "guest": True}]

START = datetime(2026, 11, 2, 7, 30, 0)
rows = []


def ts(day, minute):
    return START + timedelta(days=day, minutes=minute, seconds=R.randrange(60))


def ip():
    return R.choice([f"203.0.113.{R.randrange(1, 255)}", f"198.51.100.{R.randrange(1, 255)}",
                     f"2001:db8:{R.randrange(65536):x}::{R.randrange(65536):x}", f"192.0.2.{R.randrange(1, 255)}:{R.randrange(1024, 65535)}"])


def base(t, op, rtype, workload, actor):
    return {"CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"), "Id": guid(), "Operation": op,
            "OrganizationId": HOME["tenant"], "RecordType": rtype, "UserKey": actor["oid"],
            "UserType": 0, "Version": 1, "Workload": workload, "ClientIP": ip(), "UserId": actor["upn"]}


def participants(people, home_tenant=HOME["tenant"], unauth=False):
    foreign = [p for p in people if p["tenant"] != home_tenant]
    guests = any(p.get("guest") for p in people)
    return {"HasForeignTenantUsers": bool(foreign), "HasGuestUsers": guests, "HasOtherGuestUsers": False,
            "HasUnauthenticatedUsers": unauth,
            "ParticipatingDomains": sorted({HOME["domain"], *(p["domain"] for p in foreign)}) if foreign else [],
            "ParticipatingSIPDomains": [{"DomainName": p["domain"], "TenantId": p["tenant"]} for p in foreign],
            "ParticipatingTenantIds": ([HOME["tenant"]] + sorted({p["tenant"] for p in foreign})) if foreign else []}


def member(p, with_org=True, role=None):
    m = {"DisplayName": p["name"], "UPN": p["upn"]}
    if with_org:
        m["OrganizationId"] = p["tenant"]
    if role is not None:
        m["Role"] = role
    return m


def teams(t, op, actor, chat, extra=None):
    d = base(t, op, 25, "MicrosoftTeams", actor)
    d["ChatThreadId"] = chat["id"]
    d["CommunicationType"] = chat["type"]
    if chat.get("name"):
        d["ChatName"] = chat["name"]
    d["ItemName"] = chat["id"]
    d["ResourceTenantId"] = chat["resource"]
    d["ParticipantInfo"] = participants(chat["people"], unauth=chat.get("unauth", False))
    d["AppAccessContext"] = {"ClientAppId": "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "ClientAppName": "Microsoft Teams",
                             "CorrelationId": guid(), "UniqueTokenId": f"{R.getrandbits(96):024x}"}
    if extra:
        d.update(extra)
    rows.append((t, d))


def one_on_one(a, b):
    x, y = sorted([a["oid"], b["oid"]])
    return f"19:{x}_{y}@unq.gbl.spaces"


def chat_life(chat, day, starter, creator_is_outsider, members_without_org=False):
    """ChatCreated / MemberAdded for each home member, then some traffic."""
    m = 0
    people = chat["people"]
    home = [p for p in people if p["tenant"] == HOME["tenant"] and not p.get("guest")]
    if not creator_is_outsider:
        teams(ts(day, m), "ChatCreated", starter, chat, {"Members": [member(p) for p in people]})
    for h in home:
        m += R.randrange(1, 20)
        added = people if chat["type"] == "GroupChat" or creator_is_outsider else [h]
        teams(ts(day, m), "MemberAdded", h, chat,
              {"Members": [member(p, with_org=not members_without_org, role=3 if p.get("guest") else 1) for p in added]})
    for _ in range(R.randrange(4, 12)):
        m += R.randrange(1, 90)
        who = R.choice(home)
        op = R.choice(["MessageSent", "MessageSent", "ChatRetrieved", "MessagesListed", "ReactedToMessage", "MessageUpdated"])
        extra = {}
        if op in ("MessageSent", "MessageUpdated", "ReactedToMessage"):
            extra = {"MessageId": str(1762000000000 + R.randrange(10**9)), "MessageVersion": "1"}
        teams(ts(day, m), op, who, chat, extra)


U = HOME_USERS
O = OUTSIDERS
# --- external chats ---------------------------------------------------------
externals = [
    # (people, type, name, started by outsider?)
    ([O[0], U[0]], "OneOnOne", None, True),                        # Fabrikam rep pings Megan
    ([O[3], U[1]], "OneOnOne", None, True),                        # fake helpdesk with escape codes
    ([O[4], U[4], U[5], U[6]], "GroupChat", "Payroll update", True),  # bidi name, three home users
    ([O[5], U[9]], "OneOnOne", None, True),                        # NBSP look-alike of Megan Bowen
    ([O[6], U[2], U[3]], "GroupChat", "Password reset", True),     # ZWSP name
    ([O[7], U[12]], "OneOnOne", None, True),                       # bidi isolates "CEO"
    ([U[7], O[2]], "OneOnOne", None, False),                       # Lee Gu starts a chat with Northwind
    ([U[8], O[1], O[0], U[10]], "GroupChat", "Fabrikam contract Q4", False),
    ([U[13], O[8], U[14], U[15], U[16]], "GroupChat", "Northwind rollout", False),
    ([O[9], U[17]], "OneOnOne", None, True),
    ([O[1], U[18], U[19]], "GroupChat", "Kickoff 🚀 Tailspin × Contoso", True),
]
for i, (people, ctype, name, outsider_started) in enumerate(externals):
    outsider = next(p for p in people if p["tenant"] != HOME["tenant"])
    cid = one_on_one(people[0], people[1]) if ctype == "OneOnOne" else f"19:{R.getrandbits(128):032x}@thread.v2"
    chat = {"id": cid, "type": ctype, "name": name, "people": people,
            "resource": outsider["tenant"] if outsider_started else HOME["tenant"]}
    chat_life(chat, i % 20, people[0], outsider_started, members_without_org=(i == 9))

# --- internal chats, guests, an anonymous meeting chat ---------------------
for i in range(14):
    people = R.sample(U, R.choice([2, 2, 3, 4]))
    ctype = "OneOnOne" if len(people) == 2 else "GroupChat"
    cid = one_on_one(people[0], people[1]) if ctype == "OneOnOne" else f"19:{R.getrandbits(128):032x}@thread.v2"
    chat = {"id": cid, "type": ctype, "name": R.choice([None, "Lunch", "Q4 budget", "Überprüfung", "Standup"]) if ctype == "GroupChat" else None,
            "people": people, "resource": HOME["tenant"]}
    chat_life(chat, R.randrange(20), people[0], False)
guest_chat = {"id": f"19:{R.getrandbits(128):032x}@thread.v2", "type": "GroupChat", "name": "Proseware design review",
              "people": [U[11], GUESTS[0], U[0]], "resource": HOME["tenant"]}
chat_life(guest_chat, 5, U[11], False)
guest_chat2 = {"id": one_on_one(U[3], GUESTS[1]), "type": "OneOnOne", "name": None,
               "people": [U[3], GUESTS[1]], "resource": HOME["tenant"]}
chat_life(guest_chat2, 7, U[3], False)
meeting = {"id": f"19:meeting_{R.getrandbits(96):024x}@thread.v2", "type": "GroupChat", "name": "Customer webinar",
           "people": [U[6], U[7]], "resource": HOME["tenant"], "unauth": True}
chat_life(meeting, 9, U[6], False)

# --- team channels (never chats) -------------------------------------------
for team, chan in [("Sales EMEA", "General"), ("Mark 8 Project Team", "Research and Development"), ("Retail", "Announcements")]:
    thread = f"19:{R.getrandbits(128):032x}@thread.tacv2"
    people = R.sample(U, 4) + ([GUESTS[0]] if team == "Retail" else [])
    chat = {"id": thread, "type": "Team", "name": None, "people": people, "resource": HOME["tenant"]}
    extra = {"TeamName": team, "ChannelName": chan, "ChannelType": "Standard", "AADGroupId": guid(),
             "TeamGuid": thread.replace("tacv2", "skype"), "ChannelGuid": thread}
    teams(ts(1, 5), "MemberAdded", people[0], chat, dict(extra, Members=[member(p, with_org=False, role=3 if p.get("guest") else 1) for p in people]))
    for _ in range(25):
        teams(ts(R.randrange(20), R.randrange(600)), R.choice(["MessageSent", "ChannelMessagesListed", "ReactedToMessage"]),
              R.choice(people[:4]), chat, extra)

# --- sessions, Exchange, SharePoint, sign-ins ------------------------------
for _ in range(80):
    u = R.choice(U)
    d = base(ts(R.randrange(20), R.randrange(600)), "TeamsSessionStarted", 25, "MicrosoftTeams", u)
    rows.append((datetime.fromisoformat(d["CreationTime"]), d))
SUBJECTS = ["Re: Q4 forecast", "Angebot für Müller GmbH", "Invoice #4711 \"overdue\"", "Lunch?", "会议纪要", "Contract draft, v3"]
for _ in range(300):
    u = R.choice(U)
    t = ts(R.randrange(20), R.randrange(600))
    if R.random() < 0.6:
        d = base(t, "MailItemsAccessed", 50, "Exchange", u)
        d.update({"MailboxOwnerUPN": u["upn"], "MailboxGuid": guid(), "OperationCount": R.randrange(1, 9),
                  "Folders": [{"Path": R.choice(["\\Inbox", "\\Sent Items", "\\Archive"]), "FolderItems": [
                      {"InternetMessageId": f"<{R.getrandbits(64):016X}@contoso.com>", "SizeInBytes": R.randrange(2000, 90000)}]}]})
    else:
        d = base(t, R.choice(["Send", "MoveToDeletedItems", "SoftDelete"]), 2, "Exchange", u)
        d.update({"MailboxOwnerUPN": u["upn"], "Item": {"Id": f"RgAAAA{R.getrandbits(100):025x}", "Subject": R.choice(SUBJECTS)}})
    rows.append((t, d))
FILES = ["Budget 2027.xlsx", "Präsentation Q3.pptx", "Contract, signed.pdf", "notes.txt", "Roadmap \"final\".docx"]
for _ in range(250):
    u = R.choice(U)
    t = ts(R.randrange(20), R.randrange(600))
    d = base(t, R.choice(["FileAccessed", "FileModified", "FileDownloaded", "FilePreviewed", "FileUploaded"]), 6,
             R.choice(["SharePoint", "OneDrive"]), u)
    f = R.choice(FILES)
    site = R.choice(["https://contoso.sharepoint.com/sites/Sales/", "https://contoso.sharepoint.com/sites/Mark8/"])
    d.update({"ObjectId": f"{site}Shared Documents/{f}", "SiteUrl": site, "SourceFileName": f, "EventSource": "SharePoint",
              "ItemType": "File", "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/130.0"})
    rows.append((t, d))
for _ in range(120):
    u = R.choice(U)
    t = ts(R.randrange(20), R.randrange(600))
    ok = R.random() < 0.9
    d = base(t, "UserLoggedIn" if ok else "UserLoginFailed", 15, "AzureActiveDirectory", u)
    d.update({"ResultStatus": "Success" if ok else "Failed", "ObjectId": "00000003-0000-0ff1-ce00-000000000000",
              "ExtendedProperties": [{"Name": "RequestType", "Value": "OAuth2:Authorize"},
                                     {"Name": "additionalDetails", "Value": json.dumps({"AppId": "1fec8e78"})}],
              "ErrorNumber": "0" if ok else "50126"})
    rows.append((t, d))

# --- write, newest first like the portal -----------------------------------
rows.sort(key=lambda r: (r[0], r[1]["Id"]), reverse=True)


def field(v):
    if any(c in v for c in ',"\r\n') or v != v.strip():
        return '"' + v.replace('"', '""') + '"'
    return v


out = sys.argv[1] if len(sys.argv) > 1 else "assets/demo-export.csv"
with open(out, "w", encoding="utf-8", newline="") as f:
    f.write("RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n")
    for t, d in rows:
        ad = json.dumps(d, ensure_ascii=False, separators=(",", ":"))
        cd = datetime.fromisoformat(d["CreationTime"]).strftime("%Y-%m-%dT%H:%M:%S") + ".0000000Z"
        f.write(",".join([field(d["Id"]), field(cd), str(d["RecordType"]), field(d["Operation"]),
                          field(d["UserId"]), '"' + ad.replace('"', '""') + '"', "", ""]) + "\r\n")
print(f"{out}: {len(rows)} records", file=sys.stderr)
