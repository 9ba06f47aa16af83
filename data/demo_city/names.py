"""Persian name lists for the demo town generator.

Every list holds (Persian, English transliteration) pairs where an English
form is needed (street names), or plain Persian strings where only the Persian
value is written (owner names). The values are ordinary, common Iranian names;
none of them refers to a real person or property in Darab.
"""

from __future__ import annotations

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"

#: Zero-width non-joiner, used inside compound words such as "بن‌بست".
ZWNJ = "\u200c"


def to_persian_digits(value: object) -> str:
    """Render ``value`` with Persian digits (used in Persian display names)."""
    return str(value).translate(str.maketrans("0123456789", PERSIAN_DIGITS))


#: Street-type prefixes by street kind: (Persian, English suffix).
STREET_PREFIX = {
    "main": ("خیابان", "St."),
    "local": ("کوچه", "Alley"),
    "dead_end": (f"بن{ZWNJ}بست", "Dead End"),
}

#: Names for main roads, most prominent first: the roads through the centre
#: receive the first names, as in most Iranian towns.
MAIN_STREET_NAMES: list[tuple[str, str]] = [
    ("امام خمینی", "Imam Khomeini"),
    ("انقلاب", "Enghelab"),
    ("آزادی", "Azadi"),
    ("طالقانی", "Taleghani"),
    ("شریعتی", "Shariati"),
    ("مطهری", "Motahari"),
    ("بهشتی", "Beheshti"),
    ("جمهوری اسلامی", "Jomhouri-ye Eslami"),
    ("ولیعصر", "Valiasr"),
    ("فردوسی", "Ferdowsi"),
    ("سعدی", "Saadi"),
    ("حافظ", "Hafez"),
    ("پاسداران", "Pasdaran"),
    ("بسیج", "Basij"),
    ("هفده شهریور", "17 Shahrivar"),
    ("پانزده خرداد", "15 Khordad"),
    ("کشاورز", "Keshavarz"),
    ("جهاد", "Jahad"),
    ("مدرس", "Modarres"),
    ("باهنر", "Bahonar"),
    ("رجایی", "Rajaei"),
    ("چمران", "Chamran"),
    ("دانشگاه", "Daneshgah"),
    ("فرهنگ", "Farhang"),
    ("بوعلی سینا", "Bu Ali Sina"),
    ("کمربندی", "Kamarbandi"),
    ("آیت\u200cالله کاشانی", "Ayatollah Kashani"),
    ("نواب صفوی", "Navab Safavi"),
    ("سلمان فارسی", "Salman Farsi"),
    ("امیرکبیر", "Amir Kabir"),
    ("ستارخان", "Sattar Khan"),
    ("شهدا", "Shohada"),
    ("ایثار", "Isar"),
    ("معلم", "Moallem"),
    ("کارگر", "Kargar"),
    ("دارابگرد", "Darabgerd"),
    ("شیراز", "Shiraz"),
    ("فسا", "Fasa"),
    ("بندرعباس", "Bandar Abbas"),
    ("سپاه", "Sepah"),
    ("ارتش", "Artesh"),
    ("قدس", "Qods"),
    ("فاطمیه", "Fatemiyeh"),
    ("خلیج فارس", "Khalij-e Fars"),
    ("نبوت", "Nabovvat"),
    ("امامت", "Emamat"),
    ("ملاصدرا", "Mollasadra"),
    ("خواجو", "Khaju"),
    ("کریمخان زند", "Karimkhan-e Zand"),
    ("مولوی", "Molavi"),
]

#: Names for local streets and dead ends: flowers, trees, virtues, places and
#: the common "Martyr <surname>" pattern.
LOCAL_STREET_NAMES: list[tuple[str, str]] = [
    ("لاله", "Laleh"), ("نرگس", "Narges"), ("یاس", "Yas"), ("نسترن", "Nastaran"),
    ("سوسن", "Susan"), ("شقایق", "Shaghayegh"), ("بنفشه", "Banafsheh"),
    ("میخک", "Mikhak"), ("اقاقیا", "Aghaghia"), ("نیلوفر", "Niloufar"),
    ("ارغوان", "Arghavan"), ("گلستان", "Golestan"), ("بهار", "Bahar"),
    ("پروین", "Parvin"), ("سرو", "Sarv"), ("چنار", "Chenar"), ("نارنج", "Narenj"),
    ("ترنج", "Toranj"), ("انار", "Anar"), ("نخل", "Nakhl"), ("خرما", "Khorma"),
    ("لیمو", "Limu"), ("بیدک", "Bidak"), ("کاج", "Kaj"), ("صنوبر", "Sanobar"),
    ("ایمان", "Iman"), ("امید", "Omid"), ("عدالت", "Edalat"), ("صداقت", "Sedaghat"),
    ("وحدت", "Vahdat"), ("فجر", "Fajr"), ("نور", "Nur"), ("سپیده", "Sepideh"),
    ("مهر", "Mehr"), ("صبا", "Saba"), ("آفتاب", "Aftab"), ("مهتاب", "Mahtab"),
    ("ستاره", "Setareh"), ("پرستو", "Parastu"), ("کوثر", "Kowsar"), ("زمزم", "Zamzam"),
    ("رضوان", "Rezvan"), ("فردوس", "Ferdows"), ("بوستان", "Bustan"), ("نسیم", "Nasim"),
    ("شبنم", "Shabnam"), ("باران", "Baran"), ("آبشار", "Abshar"), ("چشمه", "Cheshmeh"),
    ("دریا", "Darya"), ("کوهستان", "Kuhestan"), ("دشت", "Dasht"), ("جنت", "Jannat"),
    ("نخلستان", "Nakhlestan"), ("باغ نو", "Bagh-e Now"), ("قلعه", "Ghaleh"),
    ("کاروانسرا", "Karavansara"), ("آسیاب", "Asiab"), ("قنات", "Qanat"),
    ("مسجد", "Masjed"), ("حمام", "Hammam"), ("بازارچه", "Bazarcheh"),
    ("دانش", "Danesh"), ("هنر", "Honar"), ("ادب", "Adab"), ("اندیشه", "Andisheh"),
    ("فرزانگان", "Farzanegan"), ("فرهیختگان", "Farhikhtegan"), ("پیروزی", "Piruzi"),
    ("استقلال", "Esteghlal"), ("رسالت", "Resalat"), ("هدایت", "Hedayat"),
    ("شهید احمدی", "Shahid Ahmadi"), ("شهید رضایی", "Shahid Rezaei"),
    ("شهید کریمی", "Shahid Karimi"), ("شهید حسینی", "Shahid Hosseini"),
    ("شهید محمدی", "Shahid Mohammadi"), ("شهید جعفری", "Shahid Jafari"),
    ("شهید موسوی", "Shahid Musavi"), ("شهید نوروزی", "Shahid Nowruzi"),
    ("شهید زارع", "Shahid Zare"), ("شهید دهقان", "Shahid Dehghan"),
    ("شهید بهرامی", "Shahid Bahrami"), ("شهید کشاورزی", "Shahid Keshavarzi"),
    ("شهید فاضلی", "Shahid Fazeli"), ("شهید صادقی", "Shahid Sadeghi"),
    ("شهید رحیمی", "Shahid Rahimi"), ("شهید قاسمی", "Shahid Ghasemi"),
    ("شهید یوسفی", "Shahid Yousefi"), ("شهید عباسی", "Shahid Abbasi"),
    ("شهید نظری", "Shahid Nazari"), ("شهید امیری", "Shahid Amiri"),
    ("شهید سلیمانی", "Shahid Soleimani"), ("شهید خسروی", "Shahid Khosravi"),
    ("شهید مرادی", "Shahid Moradi"), ("شهید حیدری", "Shahid Heydari"),
    ("شهید باقری", "Shahid Bagheri"), ("شهید شفیعی", "Shahid Shafiei"),
    ("سعادت", "Saadat"), ("بهشت", "Behesht"), ("گلشن", "Golshan"), ("گلزار", "Golzar"),
    ("یاسمن", "Yasaman"), ("مریم", "Maryam"), ("شاهد", "Shahed"), ("ایثارگران", "Isargaran"),
    ("جانبازان", "Janbazan"), ("آزادگان", "Azadegan"), ("رزمندگان", "Razmandegan"),
    ("فرشته", "Fereshteh"), ("سحر", "Sahar"), ("افق", "Ofogh"), ("آرامش", "Aramesh"),
    ("شادی", "Shadi"), ("سروستان", "Sarvestan"), ("فیروزه", "Firuzeh"),
    ("مروارید", "Morvarid"), ("زمرد", "Zomorrod"), ("یاقوت", "Yaghut"),
    ("الماس", "Almas"), ("زیتون", "Zeytun"), ("انجیر", "Anjir"), ("بادام", "Badam"),
    ("پسته", "Pesteh"), ("گردو", "Gerdu"), ("نیشکر", "Neyshekar"), ("ریحان", "Reyhan"),
]

MALE_FIRST_NAMES = [
    "محمد", "علی", "حسین", "حسن", "رضا", "مهدی", "احمد", "محمود", "عباس", "جواد",
    "مجید", "سعید", "حمید", "مصطفی", "مرتضی", "امیر", "کریم", "رحیم", "غلامرضا",
    "عبدالله", "ابراهیم", "اسماعیل", "یوسف", "یعقوب", "جعفر", "صادق", "کاظم",
    "قاسم", "هادی", "وحید", "محسن", "ناصر", "منصور", "بهروز", "فرهاد", "داریوش",
    "کوروش", "بهرام", "سهراب", "رستم", "اکبر", "اصغر", "نادر", "پرویز", "جمشید",
    "خسرو", "مسعود", "مهرداد", "حامد", "میلاد", "امین", "ایمان", "پویا", "آرش",
    "سجاد", "روح\u200cالله", "نعمت\u200cالله", "حبیب",
    "شهرام", "کامران",
]

FEMALE_FIRST_NAMES = [
    "فاطمه", "زهرا", "مریم", "زینب", "معصومه", "سکینه", "خدیجه", "طاهره", "اعظم",
    "اشرف", "منیژه", "پروین", "فرشته", "مهناز", "شهناز", "نسرین", "ناهید", "لیلا",
    "الهام", "سمیرا", "سمیه", "مینا", "نرگس", "لاله", "شیرین", "فریبا", "رقیه",
    "صدیقه", "کبری", "صغری", "بتول", "منیره", "عفت", "نجمه", "نازنین", "مهسا",
    "سارا", "نگار", "الناز", "آزاده", "ریحانه", "حدیث", "کوثر", "هانیه", "مرضیه",
    "راضیه", "طیبه", "فرزانه", "پریسا", "مهتاب",
]

LAST_NAMES = [
    "احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "جعفری", "موسوی", "نوروزی",
    "زارع", "دهقان", "بهرامی", "کشاورز", "فاضلی", "صادقی", "رحیمی", "قاسمی",
    "یوسفی", "عباسی", "نظری", "امیری", "سلیمانی", "خسروی", "مرادی", "حیدری",
    "باقری", "شفیعی", "دارابی", "فسایی", "شیرازی", "جهرمی", "استهبانی", "لاری",
    "کازرونی", "نیریزی", "فیروزآبادی", "مهرابی", "غفاری", "اکبری", "اصغری",
    "ابراهیمی", "اسماعیلی", "طاهری", "هاشمی", "میرزایی", "رستمی", "کاظمی",
    "صالحی", "نعمتی", "یزدانی", "بهمنی", "آقایی", "منصوری", "فتحی", "ملکی",
    "شریفی", "نجفی", "پارسا", "فرهادی", "مشایخی", "دستغیب", "بوستانی", "باغبانی",
    "نخعی", "کمالی", "جمالی", "خلیلی", "سبحانی", "مؤمنی", "زمانی", "رنجبر",
    "برزگر", "آهنگر", "نجار", "خراط", "عطار", "بزاز", "زرگر", "صباغ", "قناد",
    "حداد", "سلطانی", "امیدی", "جوکار", "بذرافشان", "کشتکار", "دهباشی", "ترابی",
    "انصاری", "بحرینی", "افشار", "قشقایی", "بختیاری", "عسکری", "ساسانی", "هخامنشی",
    "پورمحمدی", "حسن\u200cپور", "علی\u200cپور",
    "رضاپور", "قاسم\u200cزاده", "حسین\u200cزاده",
    "نوری", "روشن", "شاکری", "صبوری", "فرجی", "توکلی", "محمودی", "جلالی",
    "نادری", "خادمی", "رهنما", "شجاعی", "پاکزاد", "ستوده", "فروتن", "مقدم",
]

#: Public bodies that own public parcels, keyed by a short role name used by
#: the generator to map land uses to owners: (Persian name, role).
PUBLIC_BODIES: list[tuple[str, str]] = [
    ("شهرداری داراب", "municipality"),
    ("اداره کل اوقاف و امور خیریه", "endowments"),
    ("آموزش و پرورش داراب", "education"),
    ("شبکه بهداشت و درمان شهرستان داراب", "health"),
    ("فرمانداری شهرستان داراب", "administrative"),
    ("اداره ورزش و جوانان داراب", "sports"),
    ("اداره فرهنگ و ارشاد اسلامی داراب", "cultural"),
    ("اداره میراث فرهنگی، صنایع دستی و گردشگری داراب", "heritage"),
    ("دانشگاه آزاد اسلامی واحد داراب", "higher_education"),
    ("شرکت آب و فاضلاب استان فارس", "utilities"),
    ("شرکت توزیع نیروی برق استان فارس", "utilities"),
    ("ستاد کل نیروهای مسلح", "military"),
    ("اداره ثبت اسناد و املاک داراب", "administrative"),
    ("سازمان ملی زمین و مسکن", "land"),
    ("بنیاد مسکن انقلاب اسلامی داراب", "land"),
    ("اداره کل راه و شهرسازی استان فارس", "land"),
    ("جهاد کشاورزی شهرستان داراب", "agriculture"),
    ("شرکت تعاونی مسکن فرهنگیان داراب", "housing_coop"),
]

#: Building blocks for company names: "<activity> <brand>".
COMPANY_ACTIVITIES = [
    "شرکت بازرگانی", "شرکت صنایع", "شرکت حمل و نقل", "شرکت کشت و صنعت",
    "شرکت ساختمانی", "شرکت تعاونی", "شرکت پخش", "شرکت تولیدی",
]
COMPANY_BRANDS = [
    "مرکبات داراب", "نخل فارس", "دارابگرد", "پارس", "آریا", "سپهر", "البرز",
    "زاگرس", "پاسارگاد", "تخت جمشید", "نارنجستان", "خلیج فارس", "آفتاب جنوب",
    "کاوه", "سیمرغ", "فجر جنوب", "رویش", "بهاران", "همای", "ستاره جنوب",
]
