"""Finding people: users.search (docs/protocol.md 4). A prefix of a username or of a display
name (or of any word of it), case-insensitive beyond ASCII; contacts first, then the directory;
users with `discoverable: false` only for their contacts; paged by an opaque cursor."""
import os
import sqlite3
import time
import uuid

import pytest

import postgres
from harness import HIGH_RATE

MAX_RESULTS = 5


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(*HIGH_RATE, "--limits.max_search_results", str(MAX_RESULTS),
                              "--limits.default_search_results", "3")


def tag():
    """A prefix no other test's users share."""
    return "s" + uuid.uuid4().hex[:8]


def search_all(client, query, limit=None):
    """Every page of a search: (users, pages)."""
    users, pages, cursor = [], 0, None
    while True:
        fields = {"q": query}
        if limit:
            fields["limit"] = limit
        if cursor:
            fields["cursor"] = cursor
        reply = client.ok("users.search", **fields)
        pages += 1
        users += reply["users"]
        if not reply["has_more"]:
            assert "cursor" not in reply
            return users, pages
        cursor = reply["cursor"]


def test_contacts_first_then_the_directory_paged_without_gaps_or_repeats(srv):
    t = tag()
    me = srv.register(f"{t}me")
    others = [srv.register(f"{t}{i:02d}") for i in range(8)]
    m = me.connect()
    # Contacts: a direct chat with 05, a group with 02 and 07; a channel does not make contacts.
    m.send_text(to_user_id=others[5].id, text="hi")
    m.ok("group.create", title="g", member_ids=[others[2].id, others[7].id])
    channel = m.ok("channel.create", title=f"{t}c")["conversation"]["id"]
    others[3].connect().ok("channel.join", conversation_id=channel)
    users, pages = search_all(m, t, limit=2)
    names = [u["username"] for u in users]
    assert names == [f"{t}02", f"{t}05", f"{t}07"] + [f"{t}{i:02d}" for i in (0, 1, 3, 4, 6)]
    assert [u["contact"] for u in users] == [True] * 3 + [False] * 5
    assert pages == 4  # 8 users, 2 a page
    assert set(users[0]) == {"id", "username", "display_name", "created_at", "contact"}
    # The default page and the largest one are settings.
    assert len(m.ok("users.search", q=t)["users"]) == 3
    assert len(m.ok("users.search", q=t, limit=MAX_RESULTS)["users"]) == MAX_RESULTS
    assert m.request("users.search", q=t, limit=MAX_RESULTS + 1)["code"] == "invalid_field"
    # The caller is never in its own results.
    assert f"{t}me" not in names


def test_display_names_match_by_any_word_case_insensitively_beyond_ascii(srv):
    t = tag()
    caller = srv.register()
    anne = srv.register(f"{t}a", display_name=f"Änne-Marie Ørsted {t}X")
    sigma = srv.register(f"{t}b", display_name=f"ΣΟΦΙΑ Straße {t}Y")
    c = caller.connect()

    def found(query):
        return sorted(u["username"] for u in c.ok("users.search", q=query)["users"] if u["username"].startswith(t))

    assert found(f"{t.upper()}A") == [f"{t}a"]            # username, any case
    assert found("änne-m") == [f"{t}a"]                  # display name start, folded
    assert found("ÄNNE") == [f"{t}a"]
    assert found("ørs") == [f"{t}a"] and found("ØRSTED " + t) == [f"{t}a"]  # a later word, and on
    assert found("σοφ") == [f"{t}b"] and found("strasse") == [f"{t}b"]     # ß folds to ss
    assert found(f"  {t}y ") == [f"{t}b"]                # trimmed
    assert found("arie") == []                           # not a prefix of a word
    reply = c.ok("users.search", q="ørsted " + t)
    assert [u["display_name"] for u in reply["users"]] == [f"Änne-Marie Ørsted {t}X"]
    for bad in ("", "   "):
        error = c.request("users.search", q=bad)
        assert error["code"] == "invalid_field" and error["field"] == "q"
    assert c.request("users.search")["code"] == "missing_field"


def test_undiscoverable_users_are_found_by_their_contacts_only(srv):
    t = tag()
    hidden, friend, stranger = srv.register(f"{t}hidden"), srv.register(f"{t}friend"), srv.register()
    h = hidden.connect()
    assert h.ok("settings.update")["settings"]["discoverable"] is True
    assert h.ok("settings.update", discoverable=False)["settings"] == {
        "read_receipts": True, "last_seen": True, "discoverable": False}
    h.send_text(to_user_id=friend.id, text="we know each other")
    s, f = stranger.connect(), friend.connect()
    assert [u["username"] for u in s.ok("users.search", q=t)["users"]] == [f"{t}friend"]
    by_friend = f.ok("users.search", q=t)["users"]
    assert [(u["username"], u["contact"]) for u in by_friend] == [(f"{t}hidden", True)]
    # Over REST too, and back to discoverable.
    r = hidden.api("PATCH", "/v1/me/settings", json={"discoverable": True})
    assert r.status_code == 200 and r.json()["settings"]["discoverable"] is True
    assert f"{t}hidden" in [u["username"] for u in s.ok("users.search", q=t)["users"]]


def test_cursor_belongs_to_its_query_and_rest_route(srv):
    t = tag()
    caller = srv.register()
    for i in range(4):
        srv.register(f"{t}{i}")
    missing = caller.api("GET", "/v1/users/search", params={"query": t})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_field"  # the field is 'q'
    first = caller.api("GET", "/v1/users/search", params={"q": t, "limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [u["username"] for u in body["users"]] == [f"{t}0", f"{t}1"] and body["has_more"] is True
    second = caller.api("GET", "/v1/users/search", params={"q": t, "limit": 2, "cursor": body["cursor"]}).json()
    assert [u["username"] for u in second["users"]] == [f"{t}2", f"{t}3"] and second["has_more"] is False
    c = caller.connect()
    for cursor in ("not-a-cursor", "ZAoxMgpkYQ"):
        error = c.request("users.search", q=t + "0", cursor=cursor)
        assert error["code"] == "invalid_field" and error["field"] == "cursor"
    # The cursor of another query is refused, not mixed in.
    error = c.request("users.search", q=t + "0", cursor=body["cursor"])
    assert error["code"] == "invalid_field"
    assert caller.api("GET", "/v1/users/abc").status_code == 400  # /v1/users/{user_id} is still there


@pytest.mark.single_node("rewrites one SQLite file between two runs of one process")
def test_users_from_before_the_terms_are_found_after_a_restart(make_server):
    if postgres.engine() != "sqlite":
        pytest.skip("edits the SQLite file; the upgrade itself is tested on both engines in tests/unit/store_test.cpp")
    s = make_server(*HIGH_RATE).start()
    t = tag()
    old, caller = s.register(f"{t}old", display_name="Olde Worlde"), s.register()
    assert s.stop() == 0
    # As a database from before migration 6 leaves them: no terms, not yet done.
    db = sqlite3.connect(os.path.join(s.data_dir, "parley.db"))
    db.execute("DELETE FROM user_terms")
    db.execute("UPDATE users SET search_terms_done = 0")
    db.commit()
    db.close()
    s.start()
    c = caller.connect()
    # The upkeep op fills them in at start-up.
    deadline = time.time() + 10
    while not c.ok("users.search", q="worlde")["users"] and time.time() < deadline:
        time.sleep(0.1)
    assert [u["id"] for u in c.ok("users.search", q="worlde")["users"]] == [old.id]
