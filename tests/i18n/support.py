"""Shared pieces of the i18n tests: the catalog scripts, the catalogs, a five-language dataset."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import cast

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.core.context import ChatRef, Incoming, UserRef
from bot.core.domain import (
    LANGUAGES,
    Anniversary,
    AnniversaryKind,
    ChatKind,
    Event,
    EventStatus,
    Memorial,
    MemorialKind,
    Person,
    PersonRef,
    Precision,
    Source,
)
from bot.core.i18n import LOCALES_DIR, po_path
from bot.core.records import Dataset
from bot.core.reply import Reply
from bot.core.services import Core, CoreSettings
from handlers.dispatch import Dispatcher
from tests.fakes.memory import fake_core

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
TEMPLATE = LOCALES_DIR / "messages.pot"
TRANSLATED = tuple(language for language in LANGUAGES if language != "en")
"""The languages whose every entry needs a msgstr; ``en`` is the language of the msgids."""

NOW = dt.datetime(2026, 5, 9, 7, 0, tzinfo=dt.UTC)
"""9 May 2026, 09:00 in Brussels."""
PLATFORM = "telegram"
PRIVATE = ChatRef("100", ChatKind.PRIVATE)
GROUP = ChatRef("-200", ChatKind.GROUP, title="Veterans")
SOURCE = (Source(ref="Volksbund Deutsche Kriegsgräberfürsorge"),)


# -- the scripts --------------------------------------------------------------------------


def load_script(name: str) -> ModuleType:
    """A module of ``scripts/`` (a folder of scripts, not a package), imported once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compile_catalogs(locales: Path) -> list[Path]:
    """``scripts/compile_catalogs.py``'s ``compile_catalogs``."""
    return cast(list[Path], load_script("compile_catalogs").compile_catalogs(locales))


def extract_template(root: Path = ROOT, mapping: Path = ROOT / "babel.cfg") -> Catalog:
    """``scripts/update_catalogs.py``'s in-memory extraction."""
    return cast(Catalog, load_script("update_catalogs").extract_template(root, mapping))


# -- the catalogs -------------------------------------------------------------------------


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    """A ``.po`` or ``.pot`` file, parsed strictly."""
    with path.open("rb") as handle:
        return read_po(handle, locale=language, abort_invalid=True)


def catalog_of(language: str) -> Catalog:
    """The committed catalog of a language."""
    return read_catalog(po_path(language), language)


def msgid(message: Message) -> str:
    """The singular msgid of an entry."""
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def msgids(message: Message) -> list[str]:
    """The msgid and, for a plural entry, the msgid_plural."""
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def msgstrs(message: Message) -> list[str]:
    """Every msgstr of an entry (all plural forms)."""
    if isinstance(message.string, tuple | list):
        return list(message.string)
    return [message.string or ""]


def entries(catalog: Catalog) -> list[Message]:
    """The entries of a catalog, header left out."""
    return [message for message in catalog if message.id]


def english_msgids() -> list[str]:
    """Every English msgid of the template, plural forms included."""
    return [text for message in entries(read_catalog(TEMPLATE)) for text in msgids(message)]


# -- a dataset in five languages ----------------------------------------------------------

MASALOV = Person(
    slug="nikolai-masalov",
    names={
        "en": "Nikolai Masalov",
        "ru": "Николай Масалов",
        "fr": "Nikolaï Massalov",
        "nl": "Nikolaj Masalov",
        "de": "Nikolai Massalow",
    },
    sources=SOURCE,
    born=1921,
    died=2001,
)
ODARCHENKO = Person(
    slug="ivan-odarchenko",
    names={
        "en": "Ivan Odarchenko",
        "ru": "Иван Одарченко",
        "fr": "Ivan Odartchenko",
        "nl": "Ivan Odartsjenko",
        "de": "Iwan Odartschenko",
    },
    sources=SOURCE,
    born=1926,
    died=2013,
)
BERLIN = {"en": "Berlin", "ru": "Берлин", "fr": "Berlin", "nl": "Berlijn", "de": "Berlin"}

TREPTOW = Memorial(
    slug="treptow-memorial",
    kind=MemorialKind.MEMORIAL,
    names={
        "en": "Soviet War Memorial in Treptower Park",
        "ru": "Мемориал советским воинам в Трептов-парке",
        "fr": "Mémorial soviétique du Treptower Park",
        "nl": "Sovjet-oorlogsgedenkplaats in het Treptower Park",
        "de": "Sowjetisches Ehrenmal im Treptower Park",
    },
    city=BERLIN,
    country="DE",
    lat=52.4881,
    lon=13.4698,
    precision=Precision.SITE,
    sources=SOURCE,
    address="Puschkinallee, 12435 Berlin",
    description={
        "en": "The resting place of about seven thousand Soviet soldiers.",
        "ru": "Место захоронения около семи тысяч советских воинов.",
        "fr": "La dernière demeure d’environ sept mille soldats soviétiques.",
        "nl": "De rustplaats van ongeveer zevenduizend Sovjetsoldaten.",
        "de": "Die Ruhestätte von etwa siebentausend sowjetischen Soldaten.",
    },
    inscription={
        "en": "Eternal glory to the heroes",
        "ru": "Вечная слава героям",
        "fr": "Gloire éternelle aux héros",
        "nl": "Eeuwige roem aan de helden",
        "de": "Ewiger Ruhm den Helden",
    },
    year=1949,
    people=(PersonRef(MASALOV.slug, {}), PersonRef(ODARCHENKO.slug, {})),
)
TIERGARTEN = Memorial(
    slug="tiergarten-memorial",
    kind=MemorialKind.MONUMENT,
    names={
        "en": "Soviet War Memorial in the Tiergarten",
        "ru": "Памятник советским воинам в Тиргартене",
        "fr": "Monument aux soldats soviétiques du Tiergarten",
        "nl": "Sovjet-oorlogsgedenkteken in de Tiergarten",
        "de": "Sowjetisches Ehrenmal im Tiergarten",
    },
    city=BERLIN,
    country="DE",
    lat=52.5166,
    lon=13.3720,
    precision=Precision.SITE,
    sources=SOURCE,
    year=1945,
)
SCHOENHOLZ = Memorial(
    slug="schoenholz-memorial",
    kind=MemorialKind.CEMETERY,
    names={
        "en": "Soviet War Memorial in the Schönholzer Heide",
        "ru": "Мемориал советским воинам в Шёнхольцер-Хайде",
        "fr": "Mémorial soviétique de la Schönholzer Heide",
        "nl": "Sovjet-oorlogsbegraafplaats in de Schönholzer Heide",
        "de": "Sowjetisches Ehrenmal in der Schönholzer Heide",
    },
    city=BERLIN,
    country="DE",
    lat=52.5714,
    lon=13.3975,
    precision=Precision.SITE,
    sources=SOURCE,
    year=1949,
)
KARLSHORST = Memorial(
    slug="karlshorst-museum",
    kind=MemorialKind.MUSEUM,
    names={
        "en": "Berlin-Karlshorst surrender site",
        "ru": "Место подписания капитуляции в Берлине-Карлсхорсте",
        "fr": "Lieu de la capitulation à Berlin-Karlshorst",
        "nl": "Plaats van de capitulatie in Berlijn-Karlshorst",
        "de": "Ort der Kapitulation in Berlin-Karlshorst",
    },
    city=BERLIN,
    country="DE",
    lat=52.4866,
    lon=13.5297,
    precision=Precision.SITE,
    sources=SOURCE,
)
BUCH = Memorial(
    slug="buch-grave",
    kind=MemorialKind.MASS_GRAVE,
    names={
        "en": "Common grave of Soviet soldiers in Berlin-Buch",
        "ru": "Братская могила советских воинов в Берлине-Бухе",
        "fr": "Sépulture collective de soldats soviétiques à Berlin-Buch",
        "nl": "Verzamelgraf van Sovjetsoldaten in Berlijn-Buch",
        "de": "Sammelgrab sowjetischer Soldaten in Berlin-Buch",
    },
    city=BERLIN,
    country="DE",
    lat=52.6306,
    lon=13.4996,
    precision=Precision.SITE,
    sources=SOURCE,
)
SPANDAU = Memorial(
    slug="spandau-grave",
    kind=MemorialKind.GRAVE,
    names={
        "en": "Grave of a Soviet pilot in Berlin-Spandau",
        "ru": "Могила советского лётчика в Берлине-Шпандау",
        "fr": "Tombe d’un aviateur soviétique à Berlin-Spandau",
        "nl": "Graf van een Sovjetpiloot in Berlijn-Spandau",
        "de": "Grab eines sowjetischen Fliegers in Berlin-Spandau",
    },
    city=BERLIN,
    country="DE",
    lat=52.5352,
    lon=13.1990,
    precision=Precision.SITE,
    sources=SOURCE,
)
LIEGE = Memorial(
    slug="liege-plaque",
    kind=MemorialKind.PLAQUE,
    names={
        "en": "Plaque to the Soviet partisans of Liège",
        "ru": "Мемориальная доска советским партизанам Льежа",
        "fr": "Plaque aux partisans soviétiques de Liège",
        "nl": "Gedenkplaat voor de Sovjetpartizanen van Luik",
        "de": "Gedenktafel für die sowjetischen Partisanen von Lüttich",
    },
    city={"en": "Liège", "ru": "Льеж", "fr": "Liège", "nl": "Luik", "de": "Lüttich"},
    country="BE",
    lat=50.6326,
    lon=5.5797,
    precision=Precision.TOWN,
    sources=SOURCE,
    year=2005,
)
MEMORIALS = (TREPTOW, TIERGARTEN, SCHOENHOLZ, KARLSHORST, BUCH, SPANDAU, LIEGE)


def _title(en: str, ru: str, fr: str, nl: str, de: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "fr": fr, "nl": nl, "de": de}


ANNIVERSARY_TITLES: dict[int, dict[str, str]] = {
    1945: _title(
        "Victory Day",
        "День Победы",
        "Jour de la Victoire",
        "Dag van de Overwinning",
        "Tag des Sieges",
    ),
    2001: _title(
        "Restoration of the Treptow memorial",
        "Реставрация мемориала в Трептов-парке",
        "Restauration du mémorial de Treptow",
        "Restauratie van de gedenkplaats in Treptow",
        "Restaurierung des Ehrenmals in Treptow",
    ),
    2004: _title(
        "Opening of the Karlshorst site",
        "Открытие экспозиции в Карлсхорсте",
        "Ouverture du site de Karlshorst",
        "Opening van de plek in Karlshorst",
        "Eröffnung des Ortes in Karlshorst",
    ),
    2005: _title(
        "Unveiling of the plaque in Liège",
        "Открытие мемориальной доски в Льеже",
        "Inauguration de la plaque de Liège",
        "Onthulling van de gedenkplaat in Luik",
        "Enthüllung der Gedenktafel in Lüttich",
    ),
    2015: _title(
        "Seventieth anniversary of the Victory",
        "70-летие Победы",
        "Soixante-dixième anniversaire de la Victoire",
        "Zeventigste verjaardag van de Overwinning",
        "Siebzigster Jahrestag des Sieges",
    ),
    2021: _title(
        "Names of the fallen read aloud",
        "Чтение имён павших",
        "Lecture des noms des soldats tombés",
        "Voorlezing van de namen van de gevallenen",
        "Verlesung der Namen der Gefallenen",
    ),
    2022: _title(
        "Youth remembrance walk",
        "Молодёжный поход памяти",
        "Marche du souvenir de la jeunesse",
        "Herdenkingstocht van de jeugd",
        "Gedenkgang der Jugend",
    ),
    2024: _title(
        "New graves identified in Berlin-Buch",
        "Установлены имена погибших в Берлине-Бухе",
        "Nouvelles tombes identifiées à Berlin-Buch",
        "Nieuwe graven geïdentificeerd in Berlijn-Buch",
        "Neue Gräber in Berlin-Buch identifiziert",
    ),
    2025: _title(
        "Eightieth anniversary of the Victory",
        "80-летие Победы",
        "Quatre-vingtième anniversaire de la Victoire",
        "Tachtigste verjaardag van de Overwinning",
        "Achtzigster Jahrestag des Sieges",
    ),
    2026: _title(
        "Wreaths at the Tiergarten",
        "Возложение венков в Тиргартене",
        "Dépôt de gerbes au Tiergarten",
        "Kransleggingen in de Tiergarten",
        "Kranzniederlegung im Tiergarten",
    ),
}
"""Anniversaries of 9 May: on 9 May 2026 they are 81, 25, 22, 21, 11, 5, 4, 2, 1, 0 years ago."""

VICTORY_TEXT = {
    "en": "The end of the war in Europe.",
    "ru": "Окончание войны в Европе.",
    "fr": "La fin de la guerre en Europe.",
    "nl": "Het einde van de oorlog in Europa.",
    "de": "Das Ende des Krieges in Europa.",
}


def anniversaries() -> list[Anniversary]:
    """The anniversaries of 9 May, one per year of ``ANNIVERSARY_TITLES``."""
    return [
        Anniversary(
            slug=f"may-9-{year}",
            month=5,
            day=9,
            year=year,
            kind=AnniversaryKind.COMMEMORATION_DAY,
            title=title,
            text=VICTORY_TEXT if year == 1945 else {},
            sources=SOURCE,
        )
        for year, title in ANNIVERSARY_TITLES.items()
    ]


def _event(
    slug: str,
    starts_at: dt.datetime,
    zone: str,
    title: dict[str, str],
    *,
    status: EventStatus = EventStatus.SCHEDULED,
    place: dict[str, str] | None = None,
    description: dict[str, str] | None = None,
) -> Event:
    return Event(
        slug=slug,
        starts_at=starts_at,
        timezone=zone,
        title=title,
        status=status,
        place=place or {},
        description=description or {},
        sources=SOURCE,
    )


TREPTOW_PLACE = _title(
    "Treptower Park, Berlin",
    "Трептов-парк, Берлин",
    "Treptower Park, Berlin",
    "Treptower Park, Berlijn",
    "Treptower Park, Berlin",
)


def events() -> list[Event]:
    """Six upcoming events (a second page), one moved, one cancelled, two zones."""
    wreaths = _title(
        "Laying of wreaths",
        "Возложение венков",
        "Dépôt de gerbes",
        "Kranslegging",
        "Kranzniederlegung",
    )
    return [
        _event(
            "treptow-wreaths",
            dt.datetime(2026, 5, 9, 8, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            wreaths,
            place=TREPTOW_PLACE,
            description=_title(
                "Bring flowers.",
                "Приносите цветы.",
                "Apportez des fleurs.",
                "Neem bloemen mee.",
                "Bringen Sie Blumen mit.",
            ),
        ),
        _event(
            "liege-march",
            dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC),
            "Europe/Brussels",
            _title(
                "Immortal Regiment march",
                "Шествие «Бессмертного полка»",
                "Marche du Régiment immortel",
                "Optocht van het Onsterfelijk Regiment",
                "Marsch des Unsterblichen Regiments",
            ),
            status=EventStatus.MOVED,
            place=_title(
                "Place Saint-Lambert, Liège",
                "Площадь Сен-Ламбер, Льеж",
                "Place Saint-Lambert, Liège",
                "Sint-Lambertusplein, Luik",
                "Place Saint-Lambert, Lüttich",
            ),
        ),
        _event(
            "buch-ceremony",
            dt.datetime(2026, 6, 22, 9, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            _title(
                "Day of Remembrance and Sorrow",
                "День памяти и скорби",
                "Journée du souvenir et du deuil",
                "Dag van herdenking en rouw",
                "Tag der Erinnerung und Trauer",
            ),
            status=EventStatus.CANCELLED,
        ),
        _event(
            "spandau-visit",
            dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            _title("Guided visit", "Экскурсия", "Visite guidée", "Rondleiding", "Führung"),
        ),
        _event(
            "karlshorst-talk",
            dt.datetime(2026, 8, 1, 16, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            _title(
                "Talk on the surrender",
                "Лекция о капитуляции",
                "Conférence sur la capitulation",
                "Lezing over de capitulatie",
                "Vortrag über die Kapitulation",
            ),
        ),
        _event(
            "tiergarten-wreaths",
            dt.datetime(2026, 9, 2, 9, 0, tzinfo=dt.UTC),
            "Europe/Berlin",
            wreaths,
        ),
    ]


def dataset() -> Dataset:
    """Seven memorials, two people, ten anniversaries and six events, in all five languages."""
    return Dataset(
        memorials=list(MEMORIALS),
        people=[MASALOV, ODARCHENKO],
        anniversaries=anniversaries(),
        events=events(),
    )


def new_core(data: Dataset | None = None, **settings: object) -> Core:
    """An in-memory core over ``data`` (default: ``dataset()``), its clock at ``NOW``."""
    core_settings = CoreSettings(**settings)  # type: ignore[arg-type]
    return fake_core(dataset() if data is None else data, now=NOW, settings=core_settings)


def user(language: str | None) -> UserRef:
    """A user whose client is set to ``language``."""
    return UserRef("100", "Anna", client_language=language)


async def ask(
    dispatcher: Dispatcher,
    language: str | None,
    text: str | None = None,
    *,
    action: str | None = None,
    chat: ChatRef = PRIVATE,
    user_ref: UserRef | None = None,
) -> Reply:
    """One request through the dispatcher; the reply must exist."""
    incoming = Incoming(PLATFORM, chat, user_ref or user(language), text=text, action=action)
    reply = await dispatcher.handle(incoming)
    assert reply is not None, text or action
    return reply


def rendered(reply: Reply) -> str:
    """Everything a reader sees: title, text, button labels, the venue."""
    parts = [reply.plain_text()]
    parts += [button.label for row in reply.buttons for button in row]
    if reply.venue is not None:
        parts += [reply.venue.title, reply.venue.address]
    return "\n".join(part for part in parts if part)
