"""Demo data: the provincial library, district libraries, units, rotation points and one user per role.

`build_plan()` describes the whole demo network as plain values (deterministic: a seeded random
generator fills in people, phones, capacities and dates); `load_demo(session)` creates whatever of it
is missing through the ordinary services, so every object gets its audit event (actor: the system).
`flask demo load` wraps it in one transaction and prints the demo logins.

Names of places come from `app.demo_data`, whose docstring says which are real and which illustrative.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app import demo_data as data
from app.auth import services as auth_services
from app.auth.models import Role, User
from app.cli_util import domain_errors
from app.db import transaction
from app.extensions import db
from app.network import services as network
from app.network.models import AdminUnit, Site, SiteKind, UnitLevel
from app.text import fold

demo_cli = AppGroup("demo", help="Demo data for trying the application.")

# Loaders of other packages (the catalogue, rotation) that add their demo data after the network's;
# the app factory registers them, so the foundation imports neither package. Each takes the session,
# stages what is missing (idempotent) and returns a one-line description, or None if nothing was added.
EXTRA_LOADERS: list[Callable[[Session], str | None]] = []

DEMO_PASSWORD = "tramsach-demo"  # noqa: S105 - documented, shared by every demo user
SEED = 1956  # the year the provincial library was founded; any fixed number would do
PROVINCE_CODE = "SL"
PROVINCE_NAME = "Tỉnh Sơn La"
PROVINCE_FROM = date(1900, 1, 1)  # before anything the application will record
# The demo's pre-reform map starts when Vân Hồ, the youngest district, had been split off Mộc Châu;
# earlier boundary changes and commune mergers before 2025 are not modelled.
OLD_MAP_FROM = date(2013, 1, 1)
OLD_MAP_TO = date(2025, 6, 30)
REFORM_DAY = date(2025, 7, 1)  # no district level from this day; 75 commune-level units
PROVINCIAL_LIBRARY_CODE = "TVT"
PROVINCIAL_LIBRARY_NAME = "Thư viện tỉnh Sơn La"

_TYPE_WORDS = ("Thành phố", "Thị trấn", "Phường", "Huyện", "Tỉnh", "Xã")
_POINT_NOTES = (
    "Điểm xa, đường vào khó đi mùa mưa.",
    "Sóng điện thoại yếu; gọi trước khi đến.",
    "Nhu cầu đọc cao, đề nghị ưu tiên luân chuyển.",
    "Xã chưa có thư viện.",
)


@dataclass(frozen=True)
class UnitPlan:
    """One administrative unit the demo needs."""

    code: str
    name: str
    level: UnitLevel
    parent_code: str | None
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class SitePlan:
    """One site the demo needs, with its unit before and after the 2025 reform."""

    code: str
    name: str
    kind: SiteKind
    served_by_code: str | None
    old_unit_code: str
    new_unit_code: str
    since: date
    address: str
    contact_person: str
    phone: str
    capacity: int
    is_active: bool = True
    notes: str = ""


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo holds, as plain values."""

    units: tuple[UnitPlan, ...]
    sites: tuple[SitePlan, ...]
    operator_site_codes: tuple[str, ...]


@dataclass
class DemoSummary:
    """What one `load_demo` call created (all zero when the demo was already there)."""

    units_created: int = 0
    sites_created: int = 0
    users_created: int = 0
    seconds: float = 0.0

    @property
    def total_created(self) -> int:
        """Return the number of objects created."""
        return self.units_created + self.sites_created + self.users_created

    def describe(self) -> str:
        """Return a one-line English report."""
        if not self.total_created:
            return "Demo data is already loaded; nothing to add."
        return (
            f"Demo data loaded in {self.seconds:.1f} s: {self.units_created} administrative units, "
            f"{self.sites_created} sites, {self.users_created} users."
        )


@dataclass(frozen=True)
class DemoLogin:
    """A demo user as the login table shows it."""

    username: str
    role: str
    full_name: str
    password_is_demo: bool


# --- names and codes ---


def split_type(name: str) -> tuple[str, str]:
    """Split "Xã Chiềng Pha" into ("Xã", "Chiềng Pha"); a name without a type word gives ("", name)."""
    for word in _TYPE_WORDS:
        if name.startswith(word + " "):
            return word, name[len(word) + 1 :]
    return "", name


def locative(name: str) -> str:
    """Return a unit's name as it reads inside a phrase: "Xã Chiềng Pha" -> "xã Chiềng Pha"."""
    word, base = split_type(name)
    return f"{word.lower()} {base}" if word else base


def code_part(name: str) -> str:
    """Return the code form of a name without its type word: "Xã Chiềng Pha" -> "CHIENGPHA"."""
    return "".join(ch for ch in fold(split_type(name)[1]).upper() if ch.isalnum())


def old_unit_code(district: str, name: str) -> str:
    """Return the code of a commune-level unit before the reform (townships get a -TT suffix)."""
    suffix = "-TT" if name.startswith("Thị trấn ") else ""
    return f"{PROVINCE_CODE}-{district}-{code_part(name)}{suffix}"


def new_unit_code(name: str) -> str:
    """Return the code of a commune-level unit from 1 July 2025."""
    return f"{PROVINCE_CODE}25-{code_part(name)}"


def district_code(district: str) -> str:
    """Return the code of a district-level unit."""
    return f"{PROVINCE_CODE}-{district}"


def district_library_code(district: str) -> str:
    """Return the site code of a district/city library."""
    return f"TVH-{district}"


# --- the plan ---


class _Maker:
    """Deterministic generator of people, phones, villages and dates."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def person(self) -> str:
        rng = self.rng
        female = rng.random() < 0.5
        group = rng.choices(("thai", "kinh", "hmong"), weights=(55, 30, 15))[0]
        if group == "hmong":
            family = rng.choice(data.FAMILY_NAMES_HMONG)
            given = rng.choice(data.GIVEN_HMONG_FEMALE if female else data.GIVEN_HMONG_MALE)
            return f"{family} {'Thị' if female else 'A'} {given}"
        family = rng.choice(data.FAMILY_NAMES_THAI if group == "thai" else data.FAMILY_NAMES_KINH)
        given = rng.choice(data.GIVEN_FEMALE if female else data.GIVEN_MALE)
        return f"{family} {'Thị' if female else 'Văn'} {given}"

    def landline(self) -> str:
        return f"0212 3{self.rng.randint(700, 899)} {self.rng.randint(0, 999):03d}"

    def mobile(self) -> str:
        rng = self.rng
        head = f"{rng.choice(data.MOBILE_PREFIXES)}{rng.randint(0, 9)}"
        return f"{head} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"

    def phone(self, landline_share: float) -> str:
        return self.landline() if self.rng.random() < landline_share else self.mobile()

    def village(self) -> str:
        return f"{self.rng.choice(data.VILLAGE_FIRST)} {self.rng.choice(data.VILLAGE_SECOND)}"

    def start(self) -> date:
        return date(self.rng.randint(2014, 2020), self.rng.choice((1, 4, 7, 10)), 1)

    def capacity(self, low: int, high: int, step: int) -> int:
        return self.rng.randrange(low, high + 1, step)


def _address(make: _Maker, district_name: str, commune: str) -> str:
    word, _base = split_type(commune)
    if word == "Phường":
        place = f"Tổ {make.rng.randint(1, 12)}"
    elif word == "Thị trấn":
        place = f"Tiểu khu {make.rng.randint(1, 9)}"
    else:
        place = f"Bản {make.village()}"
    return f"{place}, {locative(commune)}, {locative(district_name)}, tỉnh Sơn La"


def _units() -> list[UnitPlan]:
    units = [UnitPlan(PROVINCE_CODE, PROVINCE_NAME, UnitLevel.PROVINCE, None, PROVINCE_FROM, None)]
    for short, name, _seat in data.DISTRICTS:
        units.append(
            UnitPlan(
                district_code(short),
                name,
                UnitLevel.DISTRICT,
                PROVINCE_CODE,
                OLD_MAP_FROM,
                OLD_MAP_TO,
            )
        )
    for short, _name, _seat in data.DISTRICTS:
        for old_names in data.REFORM[short].values():
            for old in old_names:
                units.append(
                    UnitPlan(
                        old_unit_code(short, old),
                        old,
                        UnitLevel.COMMUNE,
                        district_code(short),
                        OLD_MAP_FROM,
                        OLD_MAP_TO,
                    )
                )
    seen: set[str] = set()
    for short, _name, _seat in data.DISTRICTS:
        for new in data.REFORM[short]:
            if new not in seen:
                seen.add(new)
                units.append(
                    UnitPlan(new_unit_code(new), new, UnitLevel.COMMUNE, PROVINCE_CODE, REFORM_DAY, None)
                )
    return units


def build_plan(seed: int = SEED) -> DemoPlan:
    """Return the whole demo network as plain values; the same seed always gives the same plan."""
    make = _Maker(seed)
    district_names = {short: name for short, name, _seat in data.DISTRICTS}
    # (district, old commune name) -> code of the unit it joined on 1 July 2025
    joined = {
        (short, old): new_unit_code(new)
        for short, groups in data.REFORM.items()
        for new, olds in groups.items()
        for old in olds
    }

    def site(code, name, kind, served_by, short, commune, since, capacity, **extra) -> SitePlan:
        return SitePlan(
            code=code,
            name=name,
            kind=kind,
            served_by_code=served_by,
            old_unit_code=old_unit_code(short, commune),
            new_unit_code=joined[(short, commune)],
            since=since,
            address=extra.pop("address", None) or _address(make, district_names[short], commune),
            contact_person=make.person(),
            phone=extra.pop("phone", None) or make.phone(0.3),
            capacity=capacity,
            **extra,
        )

    sites = [
        site(
            PROVINCIAL_LIBRARY_CODE,
            PROVINCIAL_LIBRARY_NAME,
            SiteKind.PROVINCIAL_LIBRARY,
            None,
            "TP",
            "Phường Tô Hiệu",
            OLD_MAP_FROM,
            250_000,
            address="Phường Tô Hiệu, thành phố Sơn La, tỉnh Sơn La",
            phone=make.landline(),
        )
    ]
    for short, name, seat in data.DISTRICTS:
        sites.append(
            site(
                district_library_code(short),
                f"Thư viện {locative(name)}",
                SiteKind.DISTRICT_LIBRARY,
                PROVINCIAL_LIBRARY_CODE,
                short,
                seat,
                OLD_MAP_FROM,
                make.capacity(12_000, 40_000, 1_000),
                phone=make.landline(),
            )
        )
    for number, (name, short, commune, capacity) in enumerate(data.BRANCHES, start=1):
        sites.append(
            site(
                f"{PROVINCIAL_LIBRARY_CODE}-{number:02d}",
                name,
                SiteKind.BRANCH,
                PROVINCIAL_LIBRARY_CODE,
                short,
                commune,
                make.start(),
                capacity,
            )
        )
    operator_points = {(short, commune) for short, commune in data.POINT_OPERATOR_COMMUNES}
    for short, _name, _seat in data.DISTRICTS:
        library = district_library_code(short)
        communes = [old for olds in data.REFORM[short].values() for old in olds if old.startswith("Xã ")]
        for commune in communes:
            note = make.rng.choice(_POINT_NOTES) if make.rng.random() < 0.15 else ""
            active = (short, commune) in operator_points or make.rng.random() >= 0.03
            sites.append(
                site(
                    f"BDVH-{short}-{code_part(commune)}",
                    f"Điểm Bưu điện – Văn hóa {locative(commune)}",
                    SiteKind.POST_CULTURE_POINT,
                    library,
                    short,
                    commune,
                    make.start(),
                    make.capacity(150, 400, 50),
                    is_active=active,
                    notes=note if active else "Tạm dừng luân chuyển.",
                )
            )
        for (prefix, words), commune in zip(
            data.SCHOOL_KINDS, make.rng.sample(communes, len(data.SCHOOL_KINDS)), strict=True
        ):
            sites.append(
                site(
                    f"{prefix}-{short}-{code_part(commune)}",
                    f"Thư viện {words} {split_type(commune)[1]}",
                    SiteKind.SCHOOL_LIBRARY,
                    library,
                    short,
                    commune,
                    make.start(),
                    make.capacity(300, 600, 50),
                    phone=make.phone(0.6),
                )
            )
        commune = make.rng.choice(communes)
        village = make.village()
        sites.append(
            site(
                f"TS-{short}-{code_part(village)}",
                f"Tủ sách bản {village}, {locative(commune)}",
                SiteKind.OTHER_POINT,
                library,
                short,
                commune,
                make.start(),
                make.capacity(100, 200, 25),
                address=f"Bản {village}, {locative(commune)}, {locative(district_names[short])}, tỉnh Sơn La",
                phone=make.mobile(),
            )
        )
    for short, commune in data.BORDER_POSTS:
        sites.append(
            site(
                f"DBP-{short}-{code_part(commune)}",
                f"Đồn Biên phòng {split_type(commune)[1]}",
                SiteKind.OTHER_POINT,
                district_library_code(short),
                short,
                commune,
                make.start(),
                make.capacity(150, 300, 50),
                phone=make.mobile(),
                notes="Luân chuyển phối hợp với Bộ đội Biên phòng tỉnh.",
            )
        )
    operator_codes = tuple(
        f"BDVH-{short}-{code_part(commune)}" for short, commune in data.POINT_OPERATOR_COMMUNES
    )
    return DemoPlan(units=tuple(_units()), sites=tuple(sites), operator_site_codes=operator_codes)


# --- loading ---


def load_demo(session: Session, plan: DemoPlan | None = None) -> DemoSummary:
    """Stage whatever of the demo is missing (looked up by code and user name); the caller commits."""
    started = time.perf_counter()
    plan = plan or build_plan()
    summary = DemoSummary()

    units = {unit.code: unit for unit in session.scalars(select(AdminUnit))}
    for item in plan.units:
        if item.code in units:
            continue
        units[item.code] = network.create_unit(
            session,
            code=item.code,
            name=item.name,
            level=item.level,
            valid_from=item.valid_from,
            valid_to=item.valid_to,
            parent=units[item.parent_code] if item.parent_code else None,
            actor_id=None,
            is_demo=True,
        )
        summary.units_created += 1

    site_ids: dict[str, int] = {
        code: site_id for code, site_id in session.execute(select(Site.code, Site.id))
    }
    for item in plan.sites:
        if item.code in site_ids:
            continue
        values = {
            "code": item.code,
            "name": item.name,
            "kind": item.kind.value,
            "admin_unit_id": units[item.old_unit_code].id,
            "served_by_id": site_ids.get(item.served_by_code or ""),
            "address": item.address,
            "contact_person": item.contact_person,
            "phone": item.phone,
            "capacity": item.capacity,
            "is_active": item.is_active,
            "notes": item.notes,
            "is_demo": True,
        }
        created = network.create_site(session, values, actor_id=None, since=item.since)
        network.update_site(
            session,
            created,
            {"admin_unit_id": units[item.new_unit_code].id},
            actor_id=None,
            unit_since=REFORM_DAY,
        )
        site_ids[item.code] = created.id
        summary.sites_created += 1

    for username, role, full_name in data.DEMO_USERS:
        if auth_services.find_by_username(session, username) is not None:
            continue
        points = [site_ids[code] for code in plan.operator_site_codes if code in site_ids]
        auth_services.create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            full_name=full_name,
            site_ids=points if role == Role.POINT_OPERATOR else None,
            actor_id=None,
            is_demo=True,
        )
        summary.users_created += 1

    session.flush()
    summary.seconds = time.perf_counter() - started
    return summary


def database_is_empty(session: Session) -> bool:
    """Return True when the database holds no site and no user (a first start)."""
    return not session.scalar(select(exists().select_from(Site))) and not session.scalar(
        select(exists().select_from(User))
    )


def demo_logins(session: Session) -> list[DemoLogin]:
    """Return the demo users that exist, in the order of the demo's role list."""
    order = [username for username, _role, _name in data.DEMO_USERS]
    users = session.scalars(select(User).where(User.is_demo.is_(True), User.username.in_(order)))
    found = sorted(users, key=lambda user: order.index(user.username))
    return [
        DemoLogin(
            username=user.username,
            role=user.role,
            full_name=user.full_name,
            password_is_demo=check_password_hash(user.password_hash, DEMO_PASSWORD),
        )
        for user in found
        if user.is_active
    ]


# --- the command ---


def _echo_logins(logins: list[DemoLogin]) -> None:
    if not logins:
        return
    click.echo("Demo logins (sign in at the address that `make run` prints):")
    rows = [("username", "password", "role", "name")]
    rows += [
        (
            login.username,
            DEMO_PASSWORD if login.password_is_demo else "(changed)",
            login.role,
            login.full_name,
        )
        for login in logins
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  " + "".join(row[i].ljust(widths[i] + 2) for i in range(3)) + row[3])


@demo_cli.command("load")
@click.option(
    "--first-start",
    is_flag=True,
    help="Load only into a database with no sites and no users yet (make run uses this).",
)
def load_command(first_start: bool) -> None:
    """Load the demo network and one user per role; running it again adds nothing."""
    if not current_app.config.get("DEMO_DATA"):
        raise click.ClickException(
            "demo data is switched off in this configuration (DEMO_DATA is false, as in production)"
        )
    with domain_errors():
        if not first_start or database_is_empty(db.session):
            with transaction(db.session):
                summary = load_demo(db.session)
                extra = [loader(db.session) for loader in EXTRA_LOADERS]
            click.echo(summary.describe())
            for line in extra:
                if line:
                    click.echo(line)
        _echo_logins(demo_logins(db.session))
