"""Rotation pages carry a second-level menu for staff, so plans, shipments and statistics are reachable."""


def test_staff_see_the_rotation_menu(client, logged_in):
    logged_in("rotation")
    html = client.get("/rotation/batches").get_data(as_text=True)
    assert 'class="subnav"' in html
    for path in ("/rotation/shipments", "/rotation/plans", "/rotation/usage", "/rotation/stats"):
        assert f'href="{path}"' in html, path


def test_point_operator_gets_no_staff_menu(client, logged_in):
    logged_in("point_operator")
    html = client.get("/rotation/usage").get_data(as_text=True)
    assert 'class="subnav"' not in html
