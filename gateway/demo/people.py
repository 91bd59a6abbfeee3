"""Synthetic people from several cultures, with the diacritics, transliterations and name
orders real agency records carry ("Łukasz Wiśniewski", "Mehmet Yılmaz", "José Álvarez",
"Ivanov Petr"), and the different ways each agency writes a name and a date of birth."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from unidecode import unidecode


@dataclass(frozen=True)
class Culture:
    """Naming customs: given names, surnames as (male form, female form), the country issuing
    passports and phones, and whether the family name comes first."""

    nationality: str  # ISO 3166 alpha-3
    region: str  # ISO 3166 alpha-2, for phones
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[tuple[str, str], ...]
    family_first: bool = False


def _same(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, name) for name in names)


def _slavic(*stems: str, male: str, female: str) -> tuple[tuple[str, str], ...]:
    return tuple((stem + male, stem + female) for stem in stems)


CULTURES: dict[str, Culture] = {
    "dutch": Culture(
        "NLD", "NL",
        ("Jan", "Pieter", "Daan", "Sem", "Thijs", "Bram", "Jeroen", "Sander", "Ruud", "Kees"),
        ("Anouk", "Sanne", "Fleur", "Lotte", "Eva", "Marloes", "Inge", "Femke", "Noor"),
        _same("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer",
              "de Jong", "van Dijk", "Mulder", "Bos", "Vos", "van der Linden", "Hendriks"),
    ),
    "polish": Culture(
        "POL", "PL",
        ("Łukasz", "Piotr", "Krzysztof", "Paweł", "Michał", "Tomasz", "Grzegorz", "Wojciech"),
        ("Agnieszka", "Małgorzata", "Katarzyna", "Zofia", "Joanna", "Magdalena"),
        (*_slavic("Wiśniewsk", "Kowalsk", "Kamińsk", "Lewandowsk", "Zielińsk", "Szymańsk",
                  "Dąbrowsk", "Kozłowsk", male="i", female="a"),
         *_same("Wójcik", "Woźniak", "Mazur", "Krawczyk")),
    ),
    "turkish": Culture(
        "TUR", "TR",
        ("Mehmet", "Mustafa", "Ahmet", "Emre", "Burak", "Hakan", "Yusuf", "Murat", "Serkan"),
        ("Ayşe", "Fatma", "Elif", "Zeynep", "Özlem", "Gül", "Şebnem"),
        _same("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Arslan",
              "Doğan", "Koç", "Kılıç", "Aslan"),
    ),
    "spanish": Culture(
        "ESP", "ES",
        ("José", "Manuel", "Javier", "Álvaro", "Sergio", "Raúl", "Ángel", "Iñigo"),
        ("María", "Lucía", "Carmen", "Inés", "Begoña", "Nuria"),
        _same("Álvarez", "García", "Fernández", "Muñoz", "Peña", "Jiménez", "Sánchez",
              "Núñez", "Ibáñez", "Ortiz"),
    ),
    "russian": Culture(
        "RUS", "RU",
        ("Petr", "Sergei", "Aleksandr", "Dmitrii", "Nikolai", "Yurii", "Andrei"),
        ("Olga", "Natalia", "Yekaterina", "Irina", "Svetlana"),
        _slavic("Ivanov", "Smirnov", "Kuznetsov", "Popov", "Sokolov", "Volkov", "Morozov",
                male="", female="a"),
        family_first=True,
    ),
    "bulgarian": Culture(
        "BGR", "BG",
        ("Georgi", "Ivan", "Nikolay", "Stoyan", "Hristo", "Kaloyan", "Plamen"),
        ("Mariya", "Elena", "Desislava", "Radostina", "Tsvetelina"),
        _slavic("Georgiev", "Dimitrov", "Stoyanov", "Todorov", "Nikolov", "Angelov", "Kolev",
                male="", female="a"),
    ),
    "moroccan": Culture(
        "MAR", "MA",
        ("Mohamed", "Youssef", "Hamza", "Karim", "Rachid", "Bilal", "Saïd", "Mourad"),
        ("Fatima", "Khadija", "Salma", "Nadia", "Samira", "Loubna"),
        _same("El Amrani", "Benali", "Bouzid", "El Idrissi", "Tahiri", "Ouali", "Aït Haddou",
              "Ziani", "Boukhari"),
    ),
    "german": Culture(
        "DEU", "DE",
        ("Jürgen", "Stefan", "Matthias", "Jörg", "Uwe", "Lukas", "Sören"),
        ("Anna", "Sabine", "Jana", "Lea", "Bärbel", "Jutta"),
        _same("Müller", "Schäfer", "Schröder", "Weiß", "Krüger", "Hoffmann", "Köhler", "Groß"),
    ),
    "albanian": Culture(
        "ALB", "AL",
        ("Ardit", "Besnik", "Dritan", "Arben", "Ilir", "Gëzim", "Fatmir"),
        ("Elira", "Jonida", "Blerta", "Mimoza", "Drita"),
        _same("Hoxha", "Krasniqi", "Gashi", "Berisha", "Shehu", "Çela", "Dervishi"),
    ),
    "romanian": Culture(
        "ROU", "RO",
        ("Ștefan", "Ionuț", "Andrei", "Mihai", "Răzvan", "Florin"),
        ("Ioana", "Andreea", "Mădălina", "Elena", "Oana"),
        _same("Popescu", "Ionescu", "Dumitrescu", "Stănescu", "Munteanu", "Țurcanu", "Lungu"),
    ),
    "colombian": Culture(
        "COL", "CO",
        ("Andrés", "Carlos", "Julián", "Jhon", "Wilmer", "Óscar"),
        ("Daniela", "Marcela", "Yesenia", "Ángela"),
        _same("Rodríguez", "Gómez", "Restrepo", "Ospina", "Londoño", "Cardona", "Giraldo"),
    ),
    "vietnamese": Culture(
        "VNM", "VN",
        ("Văn An", "Đức Dũng", "Minh Hùng", "Văn Tuấn", "Quang Huy"),
        ("Thị Hoa", "Thị Lan", "Ngọc Mai", "Thị Linh", "Thu Thảo"),
        _same("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng"),
        family_first=True,
    ),
    "nigerian": Culture(
        "NGA", "NG",
        ("Chukwuemeka", "Oluwaseun", "Emeka", "Tunde", "Ifeanyi", "Babajide"),
        ("Ngozi", "Chiamaka", "Funmilayo", "Adaeze", "Folake"),
        _same("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu", "Ogunleye"),
    ),
    "chinese": Culture(
        "CHN", "CN",
        ("Wei", "Jun", "Hao", "Lei", "Qiang", "Zhiwei"),
        ("Na", "Fang", "Xiuying", "Jing", "Li"),
        _same("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang"),
        family_first=True,
    ),
}  # fmt: skip

# How often each culture appears in the background data of a Dutch-based federation.
_CULTURE_WEIGHTS = {
    "dutch": 40, "polish": 7, "turkish": 8, "spanish": 4, "russian": 3, "bulgarian": 4,
    "moroccan": 10, "german": 6, "albanian": 4, "romanian": 4, "colombian": 3,
    "vietnamese": 2, "nigerian": 3, "chinese": 2,
}  # fmt: skip


@dataclass(frozen=True)
class Person:
    given: str
    surname: str
    culture: Culture
    born: date

    @property
    def nationality(self) -> str:
        return self.culture.nationality

    def natural_name(self) -> str:
        """The name in the culture's own order ("Ivanov Petr", "Mehmet Yılmaz")."""
        if self.culture.family_first:
            return f"{self.surname} {self.given}"
        return f"{self.given} {self.surname}"

    def register_name(self) -> str:
        """ "SURNAME, Given", as registers and customs forms list people."""
        return f"{self.surname.upper()}, {self.given}"

    def ascii_parts(self) -> tuple[str, str]:
        return unidecode(self.given).split()[0], unidecode(self.surname)


def draw_person(rng: random.Random, *, born_from: date, born_to: date) -> Person:
    culture = CULTURES[rng.choices(list(_CULTURE_WEIGHTS), list(_CULTURE_WEIGHTS.values()))[0]]
    female = rng.random() < 0.35
    given = rng.choice(culture.female if female else culture.male)
    surname = rng.choice(culture.surnames)[1 if female else 0]
    return Person(given, surname, culture, random_date(rng, born_from, born_to))


def random_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def written_name(
    rng: random.Random, person: Person, *, style: Literal["police", "customs", "intel"]
) -> str:
    """The name as an agency writes it: ``police`` in natural order; ``customs`` often in
    register form; ``intel`` often upper-case and stripped of diacritics."""
    if style == "police":
        return person.natural_name()
    if style == "customs":
        return rng.choice((person.register_name(), person.register_name(), person.natural_name()))
    folded = unidecode(person.natural_name())
    return rng.choice((folded.upper(), person.register_name(), folded, person.natural_name()))


def slip_date(rng: random.Random, born: str) -> str:
    """A mistyped date of birth: an impossible day or month, or digits run together."""
    for separator in ("-", "/", "."):
        if separator in born:
            parts = born.split(separator)
            year_first = len(parts[0]) == 4
            day, month = (2, 1) if year_first else (0, 1)
            if rng.random() < 0.5:
                parts[day] = str(rng.choice((30, 31, 32)))
                parts[month] = "02" if parts[day] != "32" else parts[month]
            else:
                parts[month] = str(rng.randint(13, 19))
            return separator.join(parts)
    return born + "0"
