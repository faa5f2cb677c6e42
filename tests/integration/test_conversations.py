"""Groups, channels, roles and membership events."""
from harness import Client


def test_group_membership_events_are_ordered_in_the_conversation(server):
    owner, a, b, c = (server.register() for _ in range(4))
    o = owner.connect()
    group = o.ok("group.create", title="team", member_ids=[a.id])["conversation"]
    gid = group["id"]
    assert group["title"] == "team" and group["member_count"] == 2
    o.send_text(gid, text="hello a")
    added = o.ok("members.add", conversation_id=gid, user_ids=[b.id, c.id])
    assert added["added"] == [b.id, c.id] and added["conversation"]["member_count"] == 4
    o.ok("conversation.rename", conversation_id=gid, title="team 2")
    cb = c.connect()
    cb.ok("conversation.leave", conversation_id=gid)
    history = o.ok("history", conversation_id=gid)["events"]
    kinds = [(e["seq"], e["kind"]) for e in history]
    assert kinds == [(1, "conversation.created"), (2, "member.added"), (3, "text"), (4, "member.added"),
                     (5, "conversation.renamed"), (6, "member.left")]
    assert history[1]["user_ids"] == [a.id] and history[3]["user_ids"] == [b.id, c.id]
    assert history[4]["title"] == "team 2" and history[5]["sender_id"] == c.id
    # A member added later sees the group from its addition on (not the earlier chat).
    seen = b.connect().ok("history", conversation_id=gid)["events"]
    assert [e["seq"] for e in seen] == [4, 5, 6]
    members = o.ok("members.list", conversation_id=gid)["members"]
    assert {m["user_id"]: m["role"] for m in members} == {owner.id: "owner", a.id: "member", b.id: "member"}


def test_roles_and_permissions(server):
    owner, admin, member, outsider = (server.register() for _ in range(4))
    o, ad, m = owner.connect(), admin.connect(), member.connect()
    gid = o.ok("group.create", title="roles", member_ids=[admin.id, member.id])["conversation"]["id"]
    # Members cannot manage.
    assert m.request("members.add", conversation_id=gid, user_ids=[outsider.id])["code"] == "forbidden"
    assert m.request("conversation.rename", conversation_id=gid, title="x")["code"] == "forbidden"
    assert m.request("members.remove", conversation_id=gid, user_id=admin.id)["code"] == "forbidden"
    # Only the owner changes roles.
    assert ad.request("members.set_role", conversation_id=gid, user_id=member.id, role="admin")["code"] == "forbidden"
    o.ok("members.set_role", conversation_id=gid, user_id=admin.id, role="admin")
    assert o.request("members.set_role", conversation_id=gid, user_id=admin.id, role="owner")["code"] == "invalid_field"
    # Admins add and remove members, but not other admins or the owner.
    ad.ok("members.add", conversation_id=gid, user_ids=[outsider.id])
    assert ad.request("members.add", conversation_id=gid, user_ids=[outsider.id])["code"] == "already_member"
    ad.ok("members.remove", conversation_id=gid, user_id=outsider.id)
    assert ad.request("members.remove", conversation_id=gid, user_id=owner.id)["code"] == "forbidden"
    assert ad.request("members.remove", conversation_id=gid, user_id=ad.hello_reply["user_id"])["code"] == "invalid_field"
    # The owner leaving hands ownership to the admin.
    o.ok("conversation.leave", conversation_id=gid)
    roles = {x["user_id"]: x["role"] for x in ad.ok("members.list", conversation_id=gid)["members"]}
    assert roles == {admin.id: "owner", member.id: "member"}
    history = ad.ok("history", conversation_id=gid)["events"]
    assert history[-1]["kind"] == "member.role_changed" and history[-1]["role"] == "owner"
    # Direct conversations have no members to manage.
    direct = o.send_text(to_user_id=member.id, text="dm")["conversation_id"]
    assert o.request("members.add", conversation_id=direct, user_ids=[admin.id])["code"] == "forbidden"
    assert o.request("conversation.leave", conversation_id=direct)["code"] == "forbidden"


def test_group_size_limit(make_server):
    s = make_server("--limits.max_group_members", "3").start()
    users = [s.register() for _ in range(4)]
    c = users[0].connect()
    assert c.request("group.create", title="big", member_ids=[u.id for u in users[1:]])["code"] == "limit_reached"
    gid = c.ok("group.create", title="ok", member_ids=[users[1].id, users[2].id])["conversation"]["id"]
    assert c.request("members.add", conversation_id=gid, user_ids=[users[3].id])["code"] == "limit_reached"
    assert c.request("group.create", title="x", member_ids=[99999])["code"] == "not_found"


def test_added_member_receives_live_events_immediately(server):
    owner, late = server.register(), server.register()
    o, l = owner.connect(), late.connect()
    gid = o.ok("group.create", title="live")["conversation"]["id"]
    o.ok("members.add", conversation_id=gid, user_ids=[late.id])
    added = l.wait_events(lambda e: e["kind"] == "member.added")[0]
    assert added["conversation_id"] == gid and late.id in added["user_ids"]
    o.send_text(gid, text="welcome")
    assert l.wait_events(lambda e: e.get("text") == "welcome")
    o.ok("members.remove", conversation_id=gid, user_id=late.id)
    l.wait_events(lambda e: e["kind"] == "member.removed")
    o.send_text(gid, text="gone")
    assert l.ok("ping") and not [e for e in l.events if e.get("text") == "gone"]


def test_channels_public_list_join_leave(server):
    creator, joiner = server.register(), server.register()
    cr, j = creator.connect(), joiner.connect()
    channel = cr.ok("channel.create", title="General Chat", topic="everything")["conversation"]
    cid = channel["id"]
    assert channel["kind"] == "channel" and channel["role"] == "owner"
    cr.send_text(cid, text="before joiner")
    listing = j.ok("channel.list", query="general")["channels"]
    assert cid in [c["id"] for c in listing]
    assert "role" not in [c for c in listing if c["id"] == cid][0]  # not a member yet
    preview = j.ok("conversation.get", conversation_id=cid)["conversation"]
    assert preview["title"] == "General Chat" and "role" not in preview
    # A non-member previews the whole history (protocol: history, 6.4).
    assert [e.get("text") for e in j.ok("history", conversation_id=cid)["events"]] == [None, "before joiner"]
    joined = j.ok("channel.join", conversation_id=cid)
    assert joined["joined"] is True and joined["conversation"]["role"] == "member"
    assert j.ok("channel.join", conversation_id=cid)["joined"] is False  # idempotent
    # Channels show their whole history to new members.
    texts = [e.get("text") for e in j.ok("history", conversation_id=cid)["events"]]
    assert "before joiner" in texts
    cr.send_text(cid, text="after join")
    assert j.wait_events(lambda e: e.get("text") == "after join")
    # Sync finds channel events through the channel (pull) path.
    synced, cursor, _ = j.sync_all(0)
    assert "after join" in [e.get("text") for e in synced]
    cr.send_text(cid, text="later")
    assert [e.get("text") for e in j.ok("sync", cursor=cursor)["events"]] == ["later"]
    j.ok("conversation.leave", conversation_id=cid)
    cr.send_text(cid, text="after leave")
    assert [e["kind"] for e in j.ok("sync", cursor=cursor)["events"]] == ["text", "member.left"]
    # Groups cannot be joined like channels.
    gid = cr.ok("group.create", title="closed")["conversation"]["id"]
    assert j.request("channel.join", conversation_id=gid)["code"] == "forbidden"


def test_channel_list_paging(server):
    c = server.register().connect()
    prefix = "paging-" + str(c.hello_reply["user_id"])
    ids = [c.ok("channel.create", title=f"{prefix}-{i}")["conversation"]["id"] for i in range(7)]
    seen, after = [], 0
    while True:
        page = c.ok("channel.list", query=prefix, after_id=after, limit=3)
        seen += [ch["id"] for ch in page["channels"]]
        if not page["has_more"]:
            break
        after = page["channels"][-1]["id"]
    assert seen == ids


def test_conversation_list_order_and_rest_endpoints(server):
    me, x, y = server.register(), server.register(), server.register()
    c = me.connect()
    first = c.send_text(to_user_id=x.id, text="to x")["conversation_id"]
    second = c.send_text(to_user_id=y.id, text="to y")["conversation_id"]
    assert [cv["id"] for cv in c.ok("conversations.list")["conversations"]][:2] == [second, first]
    c.send_text(first, text="again x")
    assert [cv["id"] for cv in c.ok("conversations.list")["conversations"]][:2] == [first, second]
    # The REST API runs the same commands.
    g = me.api("POST", "/v1/groups", json={"title": "rest group", "member_ids": [x.id]})
    assert g.status_code == 200, g.text
    gid = g.json()["conversation"]["id"]
    assert me.api("PATCH", f"/v1/conversations/{gid}", json={"title": "renamed"}).json()["conversation"]["title"] == "renamed"
    assert me.api("POST", f"/v1/conversations/{gid}/members", json={"user_ids": [y.id]}).status_code == 200
    r = me.api("PUT", f"/v1/conversations/{gid}/members/{y.id}/role", json={"role": "admin"})
    assert r.status_code == 200, r.text
    assert me.api("DELETE", f"/v1/conversations/{gid}/members/{x.id}").status_code == 200
    members = me.api("GET", f"/v1/conversations/{gid}/members").json()["members"]
    assert {m["user_id"]: m["role"] for m in members} == {me.id: "owner", y.id: "admin"}
    ch = me.api("POST", "/v1/channels", json={"title": "rest channel"}).json()["conversation"]["id"]
    assert x.api("POST", f"/v1/channels/{ch}/join").json()["joined"] is True
    assert x.api("GET", "/v1/channels", params={"query": "rest chan"}).json()["channels"][0]["id"] == ch
    assert x.api("POST", f"/v1/conversations/{ch}/leave").status_code == 200
    assert me.api("GET", f"/v1/users/{x.id}").json()["user"]["username"] == x.username
    assert me.api("GET", "/v1/users", params={"username": y.username}).json()["user"]["id"] == y.id
    assert me.api("POST", "/v1/direct", json={"username": y.username}).json()["created"] is False
    s = me.api("GET", "/v1/sync", params={"cursor": 0, "limit": 2}).json()
    assert len(s["events"]) == 2 and s["has_more"] is True


def test_former_member_sees_the_conversation_as_it_was(server):
    owner, member = server.register(), server.register()
    o, m = owner.connect(), member.connect()
    gid = o.ok("group.create", title="before", member_ids=[member.id])["conversation"]["id"]
    left = m.ok("conversation.leave", conversation_id=gid)["conversation"]
    o.ok("conversation.rename", conversation_id=gid, title="after")
    o.send_text(gid, text="later")
    view = m.ok("conversation.get", conversation_id=gid)["conversation"]
    assert view["title"] == "before" and view["last_seq"] == view["left_seq"] == left["left_seq"]
    assert "member_count" not in view and "last_event_at" not in view
    # Renaming to the same title stores nothing.
    last = o.ok("conversation.get", conversation_id=gid)["conversation"]["last_seq"]
    o.ok("conversation.rename", conversation_id=gid, title="after")
    assert o.ok("conversation.get", conversation_id=gid)["conversation"]["last_seq"] == last


def test_abandoned_channel_is_not_handed_to_whoever_joins(server):
    # Anyone may join a channel: the first to join an abandoned one must not become its owner
    # and moderate (delete) what the old members wrote.
    founder, newcomer = server.register(), server.register()
    f, n = founder.connect(), newcomer.connect()
    cid = f.ok("channel.create", title="abandoned")["conversation"]["id"]
    f.send_text(cid, text="the founder's words")
    f.ok("conversation.leave", conversation_id=cid)
    joined = n.ok("channel.join", conversation_id=cid)["conversation"]
    assert joined["role"] == "member"
    assert n.request("message.delete", conversation_id=cid, seq=2)["code"] == "forbidden"
    assert n.request("conversation.rename", conversation_id=cid, title="mine")["code"] == "forbidden"


def test_channel_owner_leaving_hands_over_to_an_admin_only(server):
    owner, admin, member, later = (server.register() for _ in range(4))
    o, a, m = owner.connect(), admin.connect(), member.connect()
    cid = o.ok("channel.create", title="handover")["conversation"]["id"]
    m.ok("channel.join", conversation_id=cid)  # longest-standing member, but not trusted
    a.ok("channel.join", conversation_id=cid)
    o.ok("members.set_role", conversation_id=cid, user_id=admin.id, role="admin")
    o.ok("conversation.leave", conversation_id=cid)
    assert a.ok("conversation.get", conversation_id=cid)["conversation"]["role"] == "owner"
    assert m.ok("conversation.get", conversation_id=cid)["conversation"]["role"] == "member"
    # Without an admin, nobody inherits a channel.
    a.ok("conversation.leave", conversation_id=cid)
    assert m.ok("conversation.get", conversation_id=cid)["conversation"]["role"] == "member"
    assert later.connect().ok("channel.join", conversation_id=cid)["conversation"]["role"] == "member"


def test_group_owner_leaving_hands_over_to_the_longest_standing_member(server):
    owner, first, second = server.register(), server.register(), server.register()
    o = owner.connect()
    gid = o.ok("group.create", title="heirs", member_ids=[first.id])["conversation"]["id"]
    o.ok("members.add", conversation_id=gid, user_ids=[second.id])
    o.ok("conversation.leave", conversation_id=gid)
    assert first.connect().ok("conversation.get", conversation_id=gid)["conversation"]["role"] == "owner"
    assert second.connect().ok("conversation.get", conversation_id=gid)["conversation"]["role"] == "member"


def test_members_list_pages(server):
    users = [server.register() for _ in range(7)]
    c = users[0].connect()
    gid = c.ok("group.create", title="paged", member_ids=[u.id for u in users[1:]])["conversation"]["id"]
    seen, after = [], 0
    while True:
        page = c.ok("members.list", conversation_id=gid, after_user_id=after, limit=3)
        seen += [m["user_id"] for m in page["members"]]
        if not page["has_more"]:
            break
        after = page["members"][-1]["user_id"]
    assert seen == sorted(u.id for u in users)


def test_me_ignores_query_parameters(server):
    me, other = server.register(), server.register()
    r = me.api("GET", "/v1/me", params={"user_id": other.id})
    assert r.json()["user"]["id"] == me.id
    assert server.api("GET", "/v1/auth/register").status_code == 405


def test_new_conversations_are_announced_before_their_first_event(server):
    owner, member, peer = server.register(), server.register(), server.register()
    o2, m, p = owner.connect(), member.connect(), peer.connect()
    o = owner.connect()
    gid = o.ok("group.create", title="announced", member_ids=[member.id])["conversation"]["id"]
    # The member's session hears of the conversation (with its role) before the event that added it.
    m.wait_events(lambda e: e["conversation_id"] == gid)
    kinds = [(f["type"], f.get("conversation", {}).get("id") or f.get("event", {}).get("conversation_id")) for f in m.frames]
    assert kinds.index(("conversation", gid)) < kinds.index(("event", gid))
    announced = [f for f in m.frames if f["type"] == "conversation"][0]["conversation"]
    assert announced["role"] == "member" and announced["title"] == "announced" and announced["unread_count"] >= 0
    # The creator's other device too; and both sides of a new direct chat, each with its peer.
    o2.wait_events(lambda e: e["conversation_id"] == gid and e["kind"] == "conversation.created")
    assert [f for f in o2.frames if f["type"] == "conversation" and f["conversation"]["id"] == gid]
    direct = o.send_text(to_user_id=peer.id, text="hello")["conversation_id"]
    p.wait_events(lambda e: e["conversation_id"] == direct)
    first = [f for f in p.frames if f["type"] == "conversation"][0]["conversation"]
    assert first["id"] == direct and first["peer"]["id"] == owner.id


def test_users_lookup_and_refusal_reason(server):
    a, b = server.register(), server.register()
    c = a.connect()
    users = c.ok("users.get", user_ids=[b.id, a.id, 999999])["users"]
    assert [u["username"] for u in users] == [b.username, a.username]
    r = a.api("POST", "/v1/users/lookup", json={"user_ids": [b.id]})
    assert r.json()["users"][0]["id"] == b.id
    # A refused hello closes with 4003 and the error code as the reason.
    from harness import RawWs
    raw = RawWs(server)
    raw.send_text('{"type":"hello","id":"h","token":"nope"}')
    assert raw.recv_json()["code"] == "unauthorized"
    opcode, payload = raw.recv_frame()
    assert opcode == 0x8 and int.from_bytes(payload[:2], "big") == 4003 and payload[2:] == b"unauthorized"


def test_channel_preview_for_non_members(server):
    """Anyone reads a channel's whole history, its threads and pins read-only; a group's stays closed."""
    creator, member, stranger = server.register(), server.register(), server.register()
    cr, m, st = creator.connect(), member.connect(), stranger.connect()
    cid = cr.ok("channel.create", title="preview")["conversation"]["id"]
    m.ok("channel.join", conversation_id=cid)
    root = cr.send_text(cid, text="root")["seq"]
    reply = m.ok("send", conversation_id=cid, client_msg_id="t1", text="in thread", thread_root_seq=root)["seq"]
    doomed = cr.send_text(cid, text="to delete")["seq"]
    for i in range(5):
        cr.send_text(cid, text=f"m{i}")
    cr.ok("message.edit", conversation_id=cid, seq=root, text="root (edited)")
    cr.ok("message.delete", conversation_id=cid, seq=doomed)
    cr.ok("reaction.add", conversation_id=cid, seq=root, emoji="👍")
    cr.ok("pin.add", conversation_id=cid, seq=root)

    # The stranger pages backwards through the whole channel, as a member does.
    member_view = m.ok("history", conversation_id=cid, limit=100)
    pages, before = [], None
    while True:
        page = st.ok("history", conversation_id=cid, limit=3, **({"before_seq": before} if before else {}))
        assert page["visible_from_seq"] == 1 and page["last_seq"] == member_view["last_seq"]
        pages = page["events"] + pages
        if not page["has_more"]:
            break
        before = page["events"][0]["seq"]
    assert pages == member_view["events"]
    assert pages[0]["seq"] == 1 and pages[0]["kind"] == "conversation.created"
    by_seq = {e["seq"]: e for e in pages}
    assert by_seq[root]["text"] == "root (edited)" and by_seq[root]["edited"] is True
    assert by_seq[root]["thread"]["reply_count"] == 1 and by_seq[root]["reactions"][0]["emoji"] == "👍"
    assert by_seq[doomed]["deleted"] is True and "text" not in by_seq[doomed]
    # Forwards too.
    forward = st.ok("history", conversation_id=cid, after_seq=0, limit=100)
    assert forward["events"] == member_view["events"] and forward["has_more"] is False

    thread = st.ok("thread.history", conversation_id=cid, root_seq=root)
    assert thread == {**m.ok("thread.history", conversation_id=cid, root_seq=root), "id": thread["id"]}
    assert [e["seq"] for e in thread["events"]] == [reply] and thread["root"]["text"] == "root (edited)"
    assert [p["seq"] for p in st.ok("pins.list", conversation_id=cid)["pins"]] == [root]
    assert st.ok("reactions.get", conversation_id=cid, seq=root)["reactions"][0]["user_ids"] == [creator.id]
    assert len(st.ok("message.edits", conversation_id=cid, seq=root)["versions"]) == 2
    r = stranger.api("GET", f"/v1/conversations/{cid}/events", params={"limit": 100})
    assert r.status_code == 200 and r.json()["events"] == member_view["events"]

    # Read-only: writing, reacting and typing still need a membership; nothing is live.
    assert st.request("send", conversation_id=cid, client_msg_id="x", text="hi")["code"] == "not_member"
    assert st.request("reaction.add", conversation_id=cid, seq=root, emoji="x")["code"] == "not_member"
    assert st.request("typing", conversation_id=cid)["code"] == "not_member"
    cr.send_text(cid, text="live")
    m.wait_events(lambda e: e.get("text") == "live")
    assert st.ok("ping") and not [e for e in st.events if e.get("conversation_id") == cid]
    assert cid not in [c["id"] for c in st.ok("conversations.list")["conversations"]]
    assert st.ok("sync", cursor=0)["events"] == []

    # A former member reads the whole channel too, also what came after it left.
    m.ok("conversation.leave", conversation_id=cid)
    after_leave = cr.send_text(cid, text="after leave")["seq"]
    page = m.ok("history", conversation_id=cid, limit=1)
    assert page["last_seq"] == after_leave and page["events"][0]["text"] == "after leave"

    # Groups (and direct conversations) stay closed to non-members.
    gid = cr.ok("group.create", title="closed", member_ids=[member.id])["conversation"]["id"]
    g_root = cr.send_text(gid, text="secret")["seq"]
    for cmd, fields in (("history", {}), ("thread.history", {"root_seq": g_root}), ("pins.list", {}),
                        ("reactions.get", {"seq": g_root}), ("message.edits", {"seq": g_root})):
        assert st.request(cmd, conversation_id=gid, **fields)["code"] == "not_member", cmd
    dm = cr.send_text(to_user_id=member.id, text="private")["conversation_id"]
    assert st.request("history", conversation_id=dm)["code"] == "not_member"
    assert st.request("history", conversation_id=999999)["code"] == "not_found"
