"""Static name lists for the demo data: Sơn La's administrative map and the pieces of people's names.

What is real and what is illustrative:

- The province and its 12 district-level units, with their official names, are real. The demo
  keeps all 12 as they were in the plan's time, until 30 June 2025 (in reality Mộc Châu became a
  town, "thị xã", early in 2025, and Mường Giàng a township; neither change is modelled).
- The 204 commune-level units before 1 July 2025 (7 wards, 9 townships, 188 communes) are written
  from memory of the pre-reform map: the names are believed real but were not checked one by one
  against an official list, and mergers between 2013 and 2025 are not modelled (by 2025 the real
  count had fallen to 200; the plan counts 204).
- The 75 units from 1 July 2025 (8 wards, 67 communes): the 8 ward names are real; the groupings
  Vân Hồ, Song Khủa, Tô Múa, Xuân Nha, Lóng Sập and Chiềng Sơn, and six of the seven communes left
  unchanged (Mường Lạn, Phiêng Khoài, Suối Tọ, Ngọc Chiến, Mường Bám, Mường Lèo), follow the 2025
  resolution as the press reported it. Every other new name and every other old-to-new grouping is
  ILLUSTRATIVE, made by the usual rule (a new unit takes the name of one of the units it merges).
- Villages, schools, branches, border posts, addresses, people and phone numbers are ILLUSTRATIVE,
  built from real Thái, Mường, H'Mông and Kinh name elements.

Pure data: no Flask, no database.
"""

from __future__ import annotations

# The 12 district-level units before 1 July 2025: (short code, official name, seat commune).
DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("TP", "Thành phố Sơn La", "Phường Chiềng Lề"),
    ("QN", "Huyện Quỳnh Nhai", "Xã Mường Giàng"),
    ("TC", "Huyện Thuận Châu", "Thị trấn Thuận Châu"),
    ("ML", "Huyện Mường La", "Thị trấn Ít Ong"),
    ("BY", "Huyện Bắc Yên", "Thị trấn Bắc Yên"),
    ("PY", "Huyện Phù Yên", "Thị trấn Phù Yên"),
    ("MC", "Huyện Mộc Châu", "Thị trấn Mộc Châu"),
    ("VH", "Huyện Vân Hồ", "Xã Vân Hồ"),
    ("YC", "Huyện Yên Châu", "Thị trấn Yên Châu"),
    ("MS", "Huyện Mai Sơn", "Thị trấn Hát Lót"),
    ("SM", "Huyện Sông Mã", "Thị trấn Sông Mã"),
    ("SC", "Huyện Sốp Cộp", "Xã Sốp Cộp"),
)

# For each district: the unit it joined on 1 July 2025 -> the old commune-level units that joined it.
# A new unit may take old units from two districts (Chiềng Sơn); it is listed under both.
REFORM: dict[str, dict[str, tuple[str, ...]]] = {
    "TP": {
        "Phường Tô Hiệu": ("Phường Tô Hiệu", "Phường Chiềng Lề", "Phường Quyết Thắng"),
        "Phường Chiềng An": ("Phường Chiềng An", "Phường Quyết Tâm", "Xã Chiềng Xôm"),
        "Phường Chiềng Cơi": ("Phường Chiềng Cơi", "Xã Hua La", "Xã Chiềng Cọ"),
        "Phường Chiềng Sinh": ("Phường Chiềng Sinh", "Xã Chiềng Ngần", "Xã Chiềng Đen"),
    },
    "QN": {
        "Xã Mường Giàng": ("Xã Mường Giàng", "Xã Chiềng Bằng"),
        "Xã Mường Chiên": ("Xã Mường Chiên", "Xã Cà Nàng", "Xã Pá Ma Pha Khinh"),
        "Xã Mường Sại": ("Xã Mường Sại", "Xã Chiềng Khay"),
        "Xã Nậm Ét": ("Xã Nậm Ét", "Xã Chiềng Khoang"),
        "Xã Mường Giôn": ("Xã Mường Giôn", "Xã Chiềng Ơn"),
    },
    "TC": {
        "Xã Thuận Châu": ("Thị trấn Thuận Châu", "Xã Chiềng Ly", "Xã Thôm Mòn", "Xã Chiềng Pấc"),
        "Xã Chiềng Pha": ("Xã Chiềng Pha", "Xã Phổng Lái", "Xã Chiềng Ngàm"),
        "Xã Chiềng La": ("Xã Chiềng La", "Xã Noong Lay", "Xã Tông Cọ"),
        "Xã Muổi Nọi": ("Xã Muổi Nọi", "Xã Bon Phặng", "Xã Phổng Lăng"),
        "Xã Mường Khiêng": ("Xã Mường Khiêng", "Xã Liệp Tè", "Xã Bó Mười"),
        "Xã Co Mạ": ("Xã Co Mạ", "Xã Co Tòng", "Xã Pá Lông", "Xã Long Hẹ"),
        "Xã Nậm Lầu": ("Xã Nậm Lầu", "Xã Púng Tra", "Xã Bản Lầm"),
        "Xã Mường É": ("Xã Mường É", "Xã É Tòng", "Xã Chiềng Bôm"),
        "Xã Mường Bám": ("Xã Mường Bám",),
        "Xã Tông Lạnh": ("Xã Tông Lạnh", "Xã Phổng Lập"),
    },
    "ML": {
        "Xã Mường La": ("Thị trấn Ít Ong", "Xã Hua Trai", "Xã Mường Trai"),
        "Xã Chiềng Lao": ("Xã Chiềng Lao", "Xã Nậm Giôn", "Xã Chiềng Công"),
        "Xã Mường Bú": ("Xã Mường Bú", "Xã Mường Chùm", "Xã Tạ Bú"),
        "Xã Chiềng Hoa": ("Xã Chiềng Hoa", "Xã Chiềng Ân", "Xã Chiềng San"),
        "Xã Ngọc Chiến": ("Xã Ngọc Chiến",),
        "Xã Nậm Păm": ("Xã Nậm Păm", "Xã Chiềng Muôn", "Xã Pi Toong"),
    },
    "BY": {
        "Xã Bắc Yên": ("Thị trấn Bắc Yên", "Xã Phiêng Ban", "Xã Hồng Ngài"),
        "Xã Tà Xùa": ("Xã Tà Xùa", "Xã Háng Đồng", "Xã Làng Chếu"),
        "Xã Xím Vàng": ("Xã Xím Vàng", "Xã Hang Chú"),
        "Xã Tạ Khoa": ("Xã Tạ Khoa", "Xã Mường Khoa", "Xã Hua Nhàn"),
        "Xã Pắc Ngà": ("Xã Pắc Ngà", "Xã Chim Vàn", "Xã Phiêng Côn"),
        "Xã Song Pe": ("Xã Song Pe", "Xã Chiềng Sại"),
    },
    "PY": {
        "Xã Phù Yên": ("Thị trấn Phù Yên", "Xã Quang Huy", "Xã Huy Hạ", "Xã Huy Tường"),
        "Xã Gia Phù": ("Xã Gia Phù", "Xã Tường Phù", "Xã Suối Bau", "Xã Sập Xa"),
        "Xã Tường Hạ": ("Xã Tường Hạ", "Xã Tường Phong", "Xã Tường Thượng", "Xã Tường Tiến"),
        "Xã Mường Cơi": ("Xã Mường Cơi", "Xã Huy Bắc", "Xã Huy Thượng", "Xã Huy Tân"),
        "Xã Mường Bang": ("Xã Mường Bang", "Xã Mường Do", "Xã Mường Lang"),
        "Xã Tân Phong": ("Xã Tân Phong", "Xã Bắc Phong", "Xã Nam Phong"),
        "Xã Kim Bon": ("Xã Kim Bon", "Xã Đá Đỏ", "Xã Mường Thải", "Xã Tân Lang"),
        "Xã Suối Tọ": ("Xã Suối Tọ",),
    },
    "MC": {
        "Phường Mộc Châu": ("Thị trấn Mộc Châu", "Xã Mường Sang"),
        "Phường Mộc Sơn": ("Thị trấn Nông trường Mộc Châu", "Xã Đông Sang"),
        "Phường Vân Sơn": ("Xã Phiêng Luông", "Xã Chiềng Hắc"),
        "Phường Thảo Nguyên": ("Xã Tân Lập", "Xã Hua Păng"),
        "Xã Lóng Sập": ("Xã Lóng Sập", "Xã Chiềng Khừa"),
        "Xã Chiềng Sơn": ("Xã Chiềng Sơn",),
        "Xã Nà Mường": ("Xã Nà Mường", "Xã Qui Hướng"),
        "Xã Tân Hợp": ("Xã Tân Hợp", "Xã Tà Lại"),
    },
    "VH": {
        "Xã Vân Hồ": ("Xã Vân Hồ", "Xã Lóng Luông", "Xã Chiềng Yên", "Xã Mường Men"),
        "Xã Song Khủa": ("Xã Song Khủa", "Xã Mường Tè", "Xã Liên Hòa", "Xã Quang Minh"),
        "Xã Tô Múa": ("Xã Tô Múa", "Xã Chiềng Khoa", "Xã Suối Bàng"),
        "Xã Xuân Nha": ("Xã Xuân Nha", "Xã Tân Xuân"),
        "Xã Chiềng Sơn": ("Xã Chiềng Xuân",),
    },
    "YC": {
        "Xã Yên Châu": ("Thị trấn Yên Châu", "Xã Viêng Lán", "Xã Sập Vạt"),
        "Xã Chiềng Hặc": ("Xã Chiềng Hặc", "Xã Mường Lựm", "Xã Tú Nang"),
        "Xã Lóng Phiêng": ("Xã Lóng Phiêng", "Xã Chiềng Tương", "Xã Chiềng On"),
        "Xã Yên Sơn": ("Xã Yên Sơn", "Xã Chiềng Đông", "Xã Chiềng Sàng", "Xã Chiềng Khoi", "Xã Chiềng Pằn"),
        "Xã Phiêng Khoài": ("Xã Phiêng Khoài",),
    },
    "MS": {
        "Xã Mai Sơn": ("Thị trấn Hát Lót", "Xã Hát Lót", "Xã Mường Bằng", "Xã Mường Bon"),
        "Xã Chiềng Mai": (
            "Xã Chiềng Mai",
            "Xã Chiềng Ban",
            "Xã Chiềng Dong",
            "Xã Chiềng Kheo",
            "Xã Chiềng Ve",
        ),
        "Xã Chiềng Mung": ("Xã Chiềng Mung", "Xã Chiềng Chăn"),
        "Xã Chiềng Sung": ("Xã Chiềng Sung", "Xã Chiềng Chung"),
        "Xã Mường Chanh": ("Xã Mường Chanh", "Xã Chiềng Lương"),
        "Xã Phiêng Cằm": ("Xã Phiêng Cằm", "Xã Chiềng Nơi"),
        "Xã Phiêng Pằn": ("Xã Phiêng Pằn", "Xã Nà Ớt"),
        "Xã Tà Hộc": ("Xã Tà Hộc", "Xã Nà Bó", "Xã Cò Nòi"),
    },
    "SM": {
        "Xã Sông Mã": ("Thị trấn Sông Mã", "Xã Nà Nghịu", "Xã Yên Hưng"),
        "Xã Bó Sinh": ("Xã Bó Sinh", "Xã Pú Bẩu", "Xã Chiềng En"),
        "Xã Mường Lầm": ("Xã Mường Lầm", "Xã Đứa Mòn"),
        "Xã Nậm Ty": ("Xã Nậm Ty", "Xã Chiềng Phung"),
        "Xã Chiềng Sơ": ("Xã Chiềng Sơ", "Xã Chiềng Cang", "Xã Mường Sai"),
        "Xã Huổi Một": ("Xã Huổi Một", "Xã Nậm Mằn", "Xã Mường Cai"),
        "Xã Chiềng Khương": ("Xã Chiềng Khương", "Xã Mường Hung", "Xã Chiềng Khoong"),
    },
    "SC": {
        "Xã Sốp Cộp": ("Xã Sốp Cộp", "Xã Dồm Cang", "Xã Mường Và"),
        "Xã Púng Bánh": ("Xã Púng Bánh", "Xã Sam Kha", "Xã Nậm Lạnh"),
        "Xã Mường Lạn": ("Xã Mường Lạn",),
        "Xã Mường Lèo": ("Xã Mường Lèo",),
    },
}

# Districts on the border with Laos that get a border-post rotation point, with the commune.
BORDER_POSTS: tuple[tuple[str, str], ...] = (
    ("SC", "Xã Mường Lèo"),
    ("SC", "Xã Mường Lạn"),
    ("SM", "Xã Chiềng Khương"),
    ("SM", "Xã Mường Cai"),
    ("MC", "Xã Lóng Sập"),
    ("YC", "Xã Phiêng Khoài"),
)

# Branches, stations and book points of the provincial library: (name, district, old unit, capacity).
BRANCHES: tuple[tuple[str, str, str, int], ...] = (
    ("Phòng đọc thiếu nhi – Thư viện tỉnh Sơn La", "TP", "Phường Chiềng Lề", 8000),
    ("Điểm sách Thư viện tỉnh tại Trường Đại học Tây Bắc", "TP", "Phường Quyết Tâm", 3000),
    ("Điểm sách Thư viện tỉnh tại Bệnh viện Đa khoa tỉnh", "TP", "Phường Chiềng Sinh", 800),
    ("Điểm sách Thư viện tỉnh tại Trường Cao đẳng Sơn La", "TP", "Phường Chiềng Sinh", 1500),
    ("Điểm sách Thư viện tỉnh tại Nhà Văn hóa tỉnh", "TP", "Phường Tô Hiệu", 1200),
    ("Trạm đọc sách Khu tái định cư thủy điện Sơn La", "ML", "Xã Mường Bú", 1000),
    ("Điểm sách Thư viện tỉnh tại Bộ Chỉ huy Quân sự tỉnh", "TP", "Phường Chiềng Cơi", 600),
    ("Trạm đọc sách Cao nguyên Mộc Châu", "MC", "Thị trấn Nông trường Mộc Châu", 1500),
)

# School kinds: (code prefix, the words before the commune name).
SCHOOL_KINDS: tuple[tuple[str, str], ...] = (
    ("THCS", "Trường THCS"),
    ("TH", "Trường Tiểu học"),
    ("BTTHCS", "Trường PTDTBT THCS"),
    ("BTTH", "Trường PTDTBT Tiểu học"),
    ("THTHCS", "Trường Tiểu học và THCS"),
)

# Village names: a first element and a second element, as in Bản Nà Cài or Bản Huổi Lè.
VILLAGE_FIRST = ("Nà", "Huổi", "Phiêng", "Pá", "Co", "Tà", "Bó", "Púng", "Lóng", "Nậm", "Hua", "Noong")
VILLAGE_SECOND = (
    "Cài",
    "Lè",
    "Ngần",
    "Mòn",
    "Sản",
    "Hẹ",
    "Lầu",
    "Sáy",
    "Pục",
    "Hay",
    "Lìu",
    "Phặng",
    "Tè",
    "Ban",
    "Hin",
    "Tra",
    "Hốc",
    "Nhúng",
    "Cuông",
    "Muông",
    "Khoang",
    "Bon",
    "Ỏ",
    "Lạnh",
)

# People's names: Thái, Kinh, Mường and H'Mông family names, and given names.
FAMILY_NAMES_THAI = ("Lò", "Lường", "Cầm", "Quàng", "Điêu", "Hoàng", "Tòng", "Vì", "Bạc", "Lù", "Sa")
FAMILY_NAMES_KINH = ("Nguyễn", "Trần", "Lê", "Phạm", "Vũ", "Đỗ", "Bùi", "Đinh", "Hà")
FAMILY_NAMES_HMONG = ("Giàng", "Sùng", "Mùa", "Vàng", "Thào", "Lầu", "Hờ")
GIVEN_MALE = (
    "Thành",
    "Phong",
    "Tiến",
    "Hùng",
    "Khăm",
    "Ún",
    "Inh",
    "Quý",
    "Chiến",
    "Duy",
    "Hoàn",
    "Lả",
    "Tùng",
    "Bình",
    "Nghiệp",
    "Sơn",
    "Thuận",
    "Cương",
)
GIVEN_FEMALE = (
    "Hương",
    "Thoa",
    "Ngoan",
    "Dung",
    "Tươi",
    "Xuân",
    "Lan",
    "Mai",
    "Hoa",
    "Pánh",
    "Ơn",
    "Hiên",
    "Thủy",
    "Nguyệt",
    "Ngọc",
    "Vui",
)
GIVEN_HMONG_MALE = ("Páo", "Chứ", "Sử", "Dơ", "Lử", "Súa", "Tủa")
GIVEN_HMONG_FEMALE = ("Mỷ", "Dế", "Sua", "Chở", "Máy", "Dợ")

# Mobile prefixes in use in Vietnam (10-digit numbers).
MOBILE_PREFIXES = ("091", "094", "098", "097", "096", "086", "088", "083", "035", "036", "037", "038", "039")

# One demo user per role: (username, role, full name).
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "Lò Văn Thành"),
    ("catalog", "cataloguer", "Nguyễn Thị Hương"),
    ("acq", "acquisitions", "Cầm Thị Xuân"),
    ("rotation", "rotation", "Lường Văn Phong"),
    ("point", "point_operator", "Quàng Thị Ngoan"),
    ("viewer", "viewer", "Đinh Văn Hùng"),
)
# The Post-Culture points the demo point operator runs: (district, old commune).
POINT_OPERATOR_COMMUNES: tuple[tuple[str, str], ...] = (("TC", "Xã Chiềng Pha"), ("TC", "Xã Phổng Lái"))
