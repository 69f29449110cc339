"""The audit log page: admins browse and filter what changed."""

from app.audit import services as audit
from app.db import utcnow


def test_admin_filters_the_audit_log(client, session, logged_in, make_user):
    admin = logged_in("admin")
    make_user(role="viewer", username="nguoixem")
    audit.record(
        session,
        actor_id=admin.id,
        action="site.update",
        object_type="site",
        object_id=7,
        object_label="DBD-01 Điểm Bưu điện",
        changes={"name": ["Cũ", "Mới <b>"]},
    )
    session.commit()
    html = client.get("/audit/").get_data(as_text=True)
    assert "<code>user.create</code>" in html and "<code>site.update</code>" in html
    filtered = client.get("/audit/?object_type=site").get_data(as_text=True)
    assert "<code>site.update</code>" in filtered and "<code>user.create</code>" not in filtered
    assert "Mới &lt;b&gt;" in filtered
    by_actor = client.get(f"/audit/?actor={admin.id}").get_data(as_text=True)
    assert "<code>site.update</code>" in by_actor and "<code>user.create</code>" not in by_actor
    today = utcnow().date().isoformat()
    assert "<code>site.update</code>" in client.get(f"/audit/?from={today}&to={today}").get_data(as_text=True)
    assert "<code>site.update</code>" not in client.get("/audit/?to=2000-01-01").get_data(as_text=True)


def test_diff_lists_only_changed_fields():
    assert audit.diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": [2, 3]}


def test_audit_log_pages_through_many_events(client, session, logged_in):
    admin = logged_in("admin")
    for n in range(60):
        audit.record(session, actor_id=admin.id, action="site.update", object_type="site", object_id=n)
    session.commit()
    first = client.get("/audit/?object_type=site").get_data(as_text=True)
    assert 'rel="next"' in first and "page=2" in first
    second = client.get("/audit/?object_type=site&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and second.count("<code>site.update</code>") == 10
