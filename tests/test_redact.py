"""Text redaction: each kind is removed, task tokens survive, and `workprint redact` works."""

from __future__ import annotations

import pytest

from tests.conftest import workprint
from workprint.privacy.redact import redact

SECRETS = [
    ("email", "write to jane.doe+work@mail.example.co.uk today", "jane.doe+work@mail.example.co.uk"),
    ("phone", "call +44 20 7946 0958 after lunch", "7946 0958"),
    ("phone", "office (555) 123-4567", "123-4567"),
    ("card", "card 4111-1111-1111-1111 exp 12/27", "4111-1111-1111-1111"),
    ("card", "pay with 5555 5555 5555 4444", "5555 5555 5555 4444"),
    ("ssn", "SSN 078-05-1120 on file", "078-05-1120"),
    ("iban", "IBAN GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"),
    ("ip", "ssh to 192.168.10.24 now", "192.168.10.24"),
    ("ip", "v6 2001:db8::8a2e:370:7334 host", "2001:db8::8a2e:370:7334"),
    ("api_key", "AWS AKIAIOSFODNN7EXAMPLE key", "AKIAIOSFODNN7EXAMPLE"),
    ("api_key", "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("api_key", "slack xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl"),
    ("api_key", "stripe sk_live_51HxYzAbCdEfGhIjKlMn", "sk_live_51HxYzAbCdEfGhIjKlMn"),
    ("api_key", "OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl012", "sk-proj-Abc123Def456Ghi789Jkl012"),
    ("jwt", "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-xyz", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-xyz"),
    ("password", "password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("password", "https://alice:s3cr3tP4ss@git.example.com/repo.git", "s3cr3tP4ss"),
    ("api_key", "https://x.example.com/cb?code=abcd1234efgh&state=1", "abcd1234efgh"),
    ("name", "Dear Margaret Hamilton, thanks", "Margaret Hamilton"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "MIIEow"),
]

KEPT = [
    "Ticket ABC-1234 is due 2026-11-23 at 14:30:00",
    "Release v2.14.1 fixes commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "order #100234887 total $1,249.99 (EUR 1.149,00)",
    "id 123e4567-e89b-12d3-a456-426614174000 version 1.2.3.4",
    "Untitled 1 - Mousepad",
    "dev server on http://127.0.0.1:8000/ and [::1]:8080",
]


@pytest.mark.parametrize("kind, text, secret", SECRETS)
def test_each_kind_is_removed(kind, text, secret):
    result = redact(text)
    assert secret not in result.text
    assert kind in result.kinds


@pytest.mark.parametrize("text", KEPT)
def test_task_tokens_survive(text):
    assert redact(text).text == text


def test_redact_command_filters_lines(env):
    out = workprint("redact", env=env, input="mail bob@example.com\nkeep ABC-12\n").stdout
    assert out == "mail [EMAIL]\nkeep ABC-12\n"


def test_generated_corpus_recall_and_task_tokens():
    """The same corpus bench/redaction.py measures: every kind ≥ 99.5 % recall, ≥ 99 % tokens kept."""
    from collections import Counter

    from workprint.privacy.corpus import generate

    missed, total, kept, keep_total = Counter(), Counter(), 0, 0
    for line in generate(n_per_kind=60, n_negative=120, seed=11):
        out = redact(line.text).text
        for kind, value in line.secrets:
            total[kind] += 1
            missed[kind] += value in out
        keep_total += len(line.keep)
        kept += sum(token in out for token in line.keep)
    for kind in total:
        assert 1 - missed[kind] / total[kind] >= 0.995, kind
    assert kept / keep_total >= 0.99


# --- The classes of miss an outside corpus found (issue: redaction on text we did not write). ---
# Values come from Faker (pinned in the test extra) across many locales, on seeds that are
# neither the bench's tuning split nor its hold-out split.

faker = pytest.importorskip("faker")

from workprint.privacy.fakercorpus import MENU, PLACES, PRODUCTS, name_parts  # noqa: E402

NON_NANP_EUROPE = ["en_IN", "en_AU", "en_NZ", "pt_BR", "es_AR", "es_CO", "es_CL", "ja_JP", "zh_CN", "zh_TW", "ko_KR",
                   "id_ID", "vi_VN", "th_TH", "he_IL", "tr_TR", "fa_IR", "en_PH", "en_NG", "zu_ZA"]
NAME_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "pl_PL", "cs_CZ", "sv_SE",
                "fi_FI", "hu_HU", "ro_RO", "tr_TR", "vi_VN", "en_IN", "en_NG", "ru_RU", "el_GR", "he_IL", "zh_CN",
                "ja_JP", "ko_KR", "hi_IN", "fa_IR", "th_TH", "is_IS", "ga_IE", "lt_LT", "hr_HR", "da_DK"]


def _fake(locale: str, seed: int):
    fake = faker.Faker(locale)
    fake.seed_instance(seed)
    return fake


def _name_leaks(name: str, out: str) -> bool:
    return any(part in out for part in name_parts(name))


def test_phone_with_country_code_and_unseparated_digits():
    numbers = []
    for i, locale in enumerate(NAME_LOCALES + NON_NANP_EUROPE):
        fake = _fake(locale, 500 + i)
        if hasattr(fake, "msisdn"):
            numbers += ["+" + fake.msisdn().lstrip("0") for _ in range(3)]
    codes = _fake("en_US", 499)  # calling codes of every country, each followed by nine digits
    numbers += [f"{codes.country_calling_code()}{codes.numerify('#########')}" for _ in range(60)]
    missed = [n for n in numbers if n in redact(f"call me at {n} about JIRA-1234").text]
    assert len(numbers) > 100 and not missed


def test_phones_outside_north_america_and_europe():
    lines = []
    for i, locale in enumerate(NON_NANP_EUROPE):
        fake = _fake(locale, 600 + i)
        for _ in range(10):
            try:
                lines.append(fake.phone_number())
            except AttributeError:
                break
    missed = [n for n in lines if n in redact(f"Phone: {n} (open until 17:00)").text]
    assert len(lines) >= 150 and len(missed) / len(lines) <= 0.01, missed


def test_date_times_versions_tickets_and_ids_are_never_phones():
    fake = _fake("en_US", 700)
    kept, total = 0, 0
    for _ in range(200):
        when = fake.date_time()
        tokens = [when.strftime("%Y-%m-%d %H:%M"), when.strftime("%Y-%m-%dT%H:%M:%S"), when.strftime("%Y-%m-%d %H:%M:%S"),
                  f"v{fake.numerify('#.##.#')}", f"JIRA-{fake.numerify('####')}", fake.uuid4(), fake.sha1()[:12],
                  f"INV-{when.year}-{fake.numerify('#####')}"]
        text = f"call me at {tokens[0]}; ring on {tokens[1]} re {tokens[3]} {tokens[4]} id {tokens[5]} {tokens[6]} " \
               f"at {tokens[2]} for {tokens[7]}"
        out = redact(text).text
        total += len(tokens)
        kept += sum(token in out for token in tokens)
    assert kept == total


@pytest.mark.parametrize("template", [
    "Meeting with {name} moved to {when}",  # a name in a sentence, no salutation
    "{name} <{email}> wrote on {date}:",  # an e-mail display name
    "cc {name} on JIRA-4411",
    "Thanks, {name}",
])
def test_names_of_many_cultures_in_sentences_and_display_forms(template):
    leaks, total = [], 0
    for i, locale in enumerate(NAME_LOCALES):
        fake = _fake(locale, 800 + i)
        for _ in range(6):
            name = fake.name()
            when = fake.date_time()
            text = template.format(name=name, email=fake.free_email(), when=when.strftime("%Y-%m-%d %H:%M"),
                                   date=when.strftime("%Y-%m-%d"))
            total += 1
            out = redact(text).text
            if _name_leaks(name, out):
                leaks.append((name, out))
    assert 1 - len(leaks) / total >= 0.95, leaks


def test_names_with_diacritics():
    names = []
    for i, locale in enumerate(["cs_CZ", "pl_PL", "hu_HU", "is_IS", "vi_VN", "tr_TR", "ro_RO", "de_DE", "fr_FR", "lt_LT"]):
        fake = _fake(locale, 900 + i)
        names += [n for n in (fake.name() for _ in range(30)) if not n.isascii()][:8]
    leaks = [n for n in names if _name_leaks(n, redact(f"Meeting with {n} moved to Friday").text)]
    assert len(names) >= 60 and len(leaks) / len(names) <= 0.05, leaks


def test_an_email_local_part_does_not_leave_the_name_in_clear():
    leaks, total = [], 0
    for i, locale in enumerate(["en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "sv_SE", "pl_PL"]):
        fake = _fake(locale, 1000 + i)
        for _ in range(10):
            first, last = fake.first_name(), fake.last_name()
            local = f"{first}.{last}".lower()
            out = redact(f"From: {first} {last} <{local}@{fake.free_email_domain()}> re OPS-12").text
            total += 1
            if first in out or last in out or local in out:
                leaks.append(out)
    assert len(leaks) / total <= 0.02, leaks


def test_street_addresses_are_a_kind():
    lines = []
    for i, locale in enumerate(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR", "sv_SE",
                                "da_DK", "cs_CZ", "en_AU", "en_CA", "ja_JP", "zh_CN"]):
        fake = _fake(locale, 1100 + i)
        lines += [", ".join(fake.address().splitlines()) for _ in range(8)]
    results = [(a, redact(f"ship to {a} by 2026-03-14")) for a in lines]
    missed = [a for a, r in results if a in r.text]
    assert not missed
    assert all("2026-03-14" in r.text for _, r in results)
    assert sum("address" in r.kinds for _, r in results) / len(results) >= 0.95


def test_hard_negatives_ordinary_capitalised_words_are_kept():
    lines = []
    for i, locale in enumerate(NAME_LOCALES):
        fake = _fake(locale, 1200 + i)
        for _ in range(3):
            when = fake.date_time()
            lines.append(f"{fake.day_of_week()}, {fake.month_name()} {when.day}: open {fake.random_element(PRODUCTS)} > "
                         f"{fake.random_element(MENU)} in {fake.random_element(PLACES)} at {when:%Y-%m-%d %H:%M}")
    changed = [line for line in lines if redact(line).text != line]
    assert len(changed) / len(lines) <= 0.01, changed


def test_outside_corpus_meets_the_goals_on_fresh_seeds():
    """The bench's corpus generator on a seed that is neither its tuning nor its hold-out split."""
    from collections import Counter

    from workprint.privacy import fakercorpus

    fakercorpus.SPLITS["test"] = 424_242
    try:
        lines = fakercorpus.generate(n_per_kind=40, n_negative=80, split="test")
    finally:
        del fakercorpus.SPLITS["test"]
    missed, total, kept, keep_total = Counter(), Counter(), 0, 0
    for line in lines:
        out = redact(line.text).text
        for kind, value in line.secrets:
            total[kind] += 1
            missed[kind] += (_name_leaks(value, out) or value in out) if kind == "name" else value in out
        keep_total += len(line.keep)
        kept += sum(token in out for token in line.keep)
    pattern = fakercorpus.PATTERN_KINDS
    assert 1 - sum(missed[k] for k in pattern) / sum(total[k] for k in pattern) >= 0.99
    assert 1 - missed["name"] / total["name"] >= 0.9
    assert kept / keep_total >= 0.99


def test_redact_command_removes_names_addresses_and_phones_and_keeps_date_times(env):
    """End to end through `workprint redact` (the name dictionary is compiled by now)."""
    fake = _fake("de_DE", 1300)
    name, street, phone = fake.name(), fake.street_address(), "+" + fake.msisdn().lstrip("0")
    lines = [f"Meeting with {name} moved to 2026-03-14 09:30", f"ship to {street} by 2026-03-14T09:30:00",
             f"call me at {phone} about JIRA-1234 (v2.3.1)"]
    out = workprint("redact", env=env, input="\n".join(lines) + "\n").stdout
    assert not any(part in out for part in name_parts(name))
    assert street not in out and phone not in out
    for token in ("2026-03-14 09:30", "2026-03-14T09:30:00", "JIRA-1234", "v2.3.1"):
        assert token in out
    assert out.count("\n") == 3


def test_the_packaged_name_dictionary_is_unpacked_on_first_use(env, tmp_path):
    """A fresh cache dir: `workprint redact` unpacks the shipped dictionary, no names-dataset needed."""
    cache = tmp_path / "cache"
    out = workprint("redact", env={**env, "WORKPRINT_CACHE": str(cache)},
                    input="Maria Garcia approved JIRA-1 at 2026-03-14 09:30\n").stdout
    assert out == "[NAME] approved JIRA-1 at 2026-03-14 09:30\n"
    assert [p.suffix for p in cache.iterdir()] == [".sqlite"]


# Classes of misses that a second, independent corpus generator (kept out of the project) found.

@pytest.mark.parametrize("text, token", [
    ("Deployed Chrome 113.0.6324.66 to staging at 10:00", "113.0.6324.66"),  # a four-part version
    ("Windows 10.0.19045.3803 needs a reboot", "10.0.19045.3803"),
    ("ts=1775884502 shipped to Lagos", "ts=1775884502"),  # an epoch in a key=value log
    ("epoch 1744052815331 refunded", "1744052815331"),  # passes the Luhn check, yet no card
    ("SIN: 486 852 866 (20 Nov 2023)", "20 Nov 2023"),  # a date with a month word
    ("due Mar 14, 2026 or 14. März 2026", "Mar 14, 2026"),
])
def test_versions_epochs_and_worded_dates_are_task_tokens(text, token):
    assert token in redact(text).text


def test_phones_written_with_dots_are_still_phones():
    for text in ("phone 06.12.34.56.78 today", "call 555.123.4567 now"):
        assert "phone" in redact(text).kinds


@pytest.mark.parametrize("text, value", [
    ("KUAX250619MASJBTA4 (CURP) verified 2026-07-12T16:36", "KUAX250619MASJBTA4"),  # Mexican CURP
    ("my RFC is VOLQ5008076BR", "VOLQ5008076BR"),  # Mexican RFC
    ("BATV2004134E9 verified at 2026-10-24T01:45", "BATV2004134E9"),
    ("NI number: ZZ 63 28 71 T (2023-04-02)", "ZZ 63 28 71 T"),  # Faker's en_GB NINO
    ("ZZ 672937 T (NI number) verified 2024-09-22T13:11", "672937"),  # its other shapes, the cue after
    ("ZZ352612T (NI number) verified 2026-02-14 07:58", "352612"),
    ("주민등록번호 850101-1234567", "850101-1234567"),  # Korean RRN
])
def test_national_ids_of_more_locales(text, value):
    out = redact(text).text
    assert value not in out
    assert "2026-07-12T16:36" in out or "2026-07-12T16:36" not in text


@pytest.mark.parametrize("text, name", [
    ('"सरीता चालिसे" <sarita@example.com> commented on PR #8366', "सरीता"),  # a quoted display name
    ("Welcome 京助 佐々木 to the New Delhi team", "佐々木"),  # another script inside a Latin line
    ("Out of office: Цветана Белоконска until 5 Oct 2026", "Цветана"),
    ("Can ნაირა შარიქაძე take PR #5169 this Friday?", "ნაირა"),  # Georgian has no capitals
    ("Interview: Sigtýr Fránnsson, 2023-05-16T15:31:35+05:30", "Fránnsson"),  # a label, then a name
    ("meeting w/ Şövkət Məhəmməd @ 01:52 re Track Changes", "Məhəmməd"),
])
def test_names_without_cue_words_in_other_scripts_and_forms(text, name):
    assert name not in redact(text).text


@pytest.mark.parametrize("text", [
    "Location: Grand Rapids", "Status: In Progress", "Открыть файл в Москве", "Welcome Back",
])
def test_labels_and_lines_in_one_script_are_not_names(text):
    assert redact(text).text == text


@pytest.mark.parametrize("text, street", [
    ("Lieferadresse: Gobarska pot 7b", "Gobarska"),  # the word for address in another language
    ("Dirección: Zalaegerszegi utca 195. — 2023-09-16 17:25:53", "Zalaegerszegi"),
    ("Pickup point — Nám. Barikád 82 (Wednesday)", "Barikád"),  # an abbreviation is no sentence end
    ("our new office is Šalata 2c/4", "Šalata"),
    ("Moved to Mirogojska 59, 23408 Ozalj on 15 Feb 2027", "Mirogojska"),  # no street type: postcode and town
    ("Ship it to Esmeralda 9 Piso 6 before 2024/09/19", "Esmeralda"),  # no street type: a unit
    ("Ship it to 75/5 ถนนนิยมเซียม บึงคลองขามใหญ่ สกลนคร 98130 before 2023/07/28", "ถนนนิยมเซียม"),  # Thai
    ("Ship it to 2 Margaret Alleyway before 2027-07-06", "Margaret"),
])
def test_street_addresses_without_an_english_cue_or_street_type(text, street):
    result = redact(text)
    assert street not in result.text and "address" in result.kinds
    for token in ("2023-09-16 17:25:53", "15 Feb 2027", "2024/09/19", "2023/07/28", "2027-07-06", "(Wednesday)"):
        assert token in result.text or token not in text


@pytest.mark.parametrize("text", [
    "Invoice addressed to the team, tracking 1ZQS8JJ5447002860",  # 'addressed' is not the cue 'address'
    "Billing: PO-2024-0042 paid", "Table 5, 100 Items", "Sprint 12, 2024 Berlin",
])
def test_address_cues_and_shapes_leave_task_tokens(text):
    assert redact(text).text == text


@pytest.mark.parametrize("text", [
    "Mark as Read → Summer Sale in Outlook", "Move to Folder → Show Hidden Files in MacBook Air",
    "Release Notes → Add to Cart in Coca Cola", "Exported backup-20270109.tar.gz from Samsung Galaxy S24",
])
def test_brand_and_interface_words_are_not_names(text):
    assert redact(text).text == text


def test_a_signature_line_name_then_title():
    for text, name in (("Anita Strójwąs — Head of Sales, Warsaw", "Strójwąs"), ("Ünsever Karadeniz | CTO", "Karadeniz")):
        assert name not in redact(text).text
    assert redact("Release Notes — Draft 3").text == "Release Notes — Draft 3"


def test_a_name_outside_the_dictionary_as_the_subject_of_a_persons_verb():
    assert "Abdurahmonov" not in redact("Fuzayl Abdurahmonov replied: looks good, merge CHG6630220").text
    assert "Ngata" not in redact("PR #812: Tamatea Ngata commented on line 42").text
    assert redact("Pivot Table updated at 10:00").text == "Pivot Table updated at 10:00"


@pytest.mark.parametrize("text, name", [
    ("Interview: Tymon Szczap, 2024-08-23T15:09:39+05:30, Bogotá office", "Szczap"),  # a label, ASCII name
    ("Approved — Keano Fortuyn, 13 May 2026", "Fortuyn"),  # a label with a dash
    ("Reminder: Philip Otuo's onboarding starts 2026-09-23 18:07", "Otuo"),
    ("meeting w/ Swala Kahinu @ 05:40:38 re Team Offsite Planning", "Kahinu"),  # neither word in the dictionary
    ("Notes from Kamron Akmalov: ship Chrome 101.0.5425.54 after 22.4.2025", "Akmalov"),
    ("Welcome S'fiso Nodanga to the Lagos team", "Nodanga"),
    ("Ticket PR #1169 reassigned from Omar Haddad to Wamwema Kipkorir", "Kipkorir"),  # after another name
])
def test_names_outside_the_dictionary_after_a_label_or_cue(text, name):
    assert name not in redact(text).text


@pytest.mark.parametrize("text, word", [
    ("Sync with Sun Li pushed to Saturday 04:23:14", "Sun"),  # a weekday's abbreviation as a family name
    ("Invoice addressed to Nguyễn Văn An, PO-2025-2812", " An"),  # an ordinary word ending a name
    ("Jan Novák replied: merge it", "Jan"),  # a month's abbreviation as a given name
])
def test_names_that_are_also_ordinary_words(text, word):
    assert word not in redact(text).text


@pytest.mark.parametrize("text", [
    "Deployed v8.2.3-rc.4 (54a142c) to Washington Square at 7:22 AM",  # places named after people
    "order 4546680371 shipped to Victoria Falls on 2026-12-17T01:26:28-03:00",
    "Welcome Eero to the Elizabeth Line team", "Columbus Circle office closed Thursday",
    "allow port 8080 in Morgan Stanley firewall", "Exported invoice_16783.pdf from Wells Fargo",  # firms
    "contact me about Louis Vuitton 3.12.3", "Morgan Stanley left a comment in Tim Hortons at 08:29:37",
    "Dr Pepper · Summer Sale · March 14:48", "Grace Period ends Friday", "Location: Grand Rapids",
    "Title: Senior Engineer", "Language: Brazilian Portuguese", "Mon Jun 3 at 10:00", "May 3 standup",
])
def test_brands_and_places_named_after_people_are_kept(text):
    assert redact(text).text == text


@pytest.mark.parametrize("text, name", [
    ("[17:45] Krista Lorch: can you look at #1225?", "Lorch"),  # a chat line's speaker
    ("Dagmara Stempin, Staff Nurse — Globe Telecom", "Stempin"),  # a signature: name, title
    ("thread: Kiojah Owuor says Xero Payroll is down again since 08:30", "Owuor"),  # a person's verb
    ("Customer Makini Kiptoo reports Zoho CRM fails after 5.24.1", "Kiptoo"),
    ("Sophia Bakker added Inés Moenen to #random", "Moenen"),  # the object of a person's verb
    ("Thanks again! Inta Bērziņa", "Bērziņa"),
    ("Sunday 09:45: 1:1 Thabiti Mathenge / Ana Lopes", "Mathenge"),
    ("Assigned to Ana Lopes by Ties van Stralen", "Stralen"),  # a particle inside: a person
    ("Renewal call with Naomi Mac an Mhilidh and Ana Lopes on Monday", "Mhilidh"),
])
def test_names_in_chat_calendar_and_ticket_lines(text, name):
    assert name not in redact(text).text


@pytest.mark.parametrize("text", [
    "Stage changed to Needs Analysis for Zoho", "Deal with Globe Telecom moved to Weekly Sync",
    "Ana Lopes changed the status to Budget Approval", "Invitation: Daily Standup @ Saturday 18:45",
    "Declined: Focus Time (2026-04-01)", "Status: Closed Won", "Pivot Table changed at 10:00",
])
def test_ordinary_english_words_after_a_cue_are_not_names(text):
    out = redact(text).text
    assert all(word in out for word in ("Needs Analysis", "Globe Telecom", "Weekly Sync", "Budget Approval",
                                        "Daily Standup", "Focus Time", "Closed Won", "Pivot Table") if word in text)


@pytest.mark.parametrize("text, name", [
    ("@Antonio can you ping David Paris about #2135?", "Paris"),  # a surname that is also a listed word
    ("Reminder: 朱柳's onboarding starts 2027-05-25 19:49", "朱柳"),  # one-word name after a label
    ("Payslip for Asatira Obama Kipruto, September — line 1793", "Kipruto"),  # one ordinary word of three
    ("Interview: Kwamboka Kigen, 2024-08-12 22:47, Mexico City office", "Kigen"),  # label, not in the dictionary
    ("Declined: Budget Approval (Teresa Tanzini, 2026-01-04)", "Tanzini"),  # a calendar's (name, date)
])
def test_names_beside_listed_words_labels_and_dates(text, name):
    assert name not in redact(text).text


@pytest.mark.parametrize("text", [
    "Location: Kota Kinabalu", "Project: Apollo Kinetic", "Team: Platform Squad",  # labels of places and things
    "Declined: Budget Approval (2026-01-04)", "Jordan Chrome 120.0.5074.134 sneakers",  # a product, its version
])
def test_labels_of_places_and_things_keep_their_values(text):
    assert redact(text).text == text
