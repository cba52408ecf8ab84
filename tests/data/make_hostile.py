"""The hostile corpus: broken, odd and malicious files for docflow's intake.

Small files live in `tests/data/hostile/` (regenerate them with
`python tests/data/make_hostile.py`). What must not be committed is built at test time
by `build_generated(folder, max_file_bytes)`: multi-megabyte files, names with
newlines, escapes and leading dashes, a symlink out of the folder and a FIFO.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "hostile"


def article(topic: str, place: str, body: str) -> str:
    """A short wire-style article whose text is unique to `topic`."""
    return f"{topic}\n\n{place}\n\n{body}\n"


def _png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def _noise(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


LATIN1 = article(
    "Le président français reçoit ses homologues à Genève",
    "GENÈVE",
    "Le président français Emmanuel Macron a reçu mardi à Genève les dirigeants européens "
    "pour un sommet consacré à l'énergie, a indiqué l'Élysée. Les ministres ont évoqué la "
    "sécurité d'approvisionnement et le prix de l'électricité.",
)
UTF16 = article(
    "Zoë Müller wins the Berlin marathon",
    "BERLIN",
    "Kenyan and Ethiopian runners finished behind Zoë Müller in Berlin on Sunday, the "
    "organisers said, in the fastest women's race the German capital has seen.",
)
GERMAN = article(
    "Bundestag beschließt neues Heizungsgesetz",
    "BERLIN",
    "Der Bundestag hat am Freitag in Berlin das umstrittene Heizungsgesetz verabschiedet. "
    "Bundeskanzler Olaf Scholz sprach von einem wichtigen Schritt für den Klimaschutz, die "
    "Opposition kündigte Widerstand im Bundesrat an.",
)
NO_ENTITIES = article(
    "a quiet afternoon",
    "somewhere",
    "it rained a little in the afternoon and then the sky cleared. nobody said anything "
    "about it, and the evening was mild and calm.",
)
SAME = article(
    "Harbour reopens after storm",
    "LISBON",
    "The port of Lisbon reopened on Thursday after a storm closed it for two days, the "
    "Portuguese port authority said.",
)


def _static() -> dict[str, Callable[[], bytes]]:
    text = lambda s: lambda: s.encode("utf-8")  # noqa: E731
    return {
        "empty.txt": lambda: b"",
        "whitespace_only.txt": lambda: b"   \n\t \r\n   \n\n\t",
        "binary_noise.txt": lambda: _noise(2048, 7),
        "image.png": _png,
        "png_named_as_text.txt": _png,
        "nul_bytes.txt": text(
            article(
                "Nairobi water prices\x00 rise",
                "NAIROBI",
                "Water prices in Nairobi\x00\x00 rose again in March, Kenya's water "
                "regulator said on Monday.",
            )
        ),
        "invalid_utf8.txt": lambda: (
            article(
                "Osaka exporters cheer weak yen — again",
                "OSAKA",
                "Exporters in Osaka said the weak yen helped “record” orders, the Japan "
                "Chamber of Commerce reported on Tuesday.",
            )
            .encode("utf-8")
            .replace(b"Tuesday", b"Tues\xff\xfeday")
        ),
        "latin1_article.txt": lambda: LATIN1.encode("latin-1"),
        "utf16_bom_article.txt": lambda: codecs.BOM_UTF16_LE + UTF16.encode("utf-16-le"),
        "utf8_bom_article.md": lambda: (
            codecs.BOM_UTF8
            + b"# Lagos ferry service resumes\n\nLAGOS\n\nFerries across Lagos lagoon resumed on "
            b"Monday, Nigeria's inland waterways agency said.\n"
        ),
        "crlf_article.txt": text(
            article(
                "Quito airport closes for volcanic ash",
                "QUITO",
                "Ecuador closed the Quito airport on Wednesday as ash from the Cotopaxi "
                "volcano drifted over the capital, officials said.",
            ).replace("\n", "\r\n")
        ),
        "title_and_script_only.html": text(
            "<html><head><title>x</title></head><body><script>alert(1)</script></body></html>"
        ),
        "scripts_only.html": text(
            "<html><head><script>var a = 1;</script><style>p{}</style></head>"
            "<body><script>document.write('hello')</script><noscript></noscript>"
            "</body></html>"
        ),
        "malformed.html": text(
            "<html><body><article><h1>Tallinn port strike ends<p>Dock workers in Tallinn "
            "ended a week-long strike on Friday, Estonia's port operator said.<p>Ships "
            "queued outside the harbour <b>for days<i> while talks went on.</div></td>"
            "<<<>>></body"
        ),
        "xxe_entity.html": text(
            '<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<html><body><article><h1>Reykjavik geothermal plant expands</h1><p>Iceland's "
            "largest geothermal plant near Reykjavik will add capacity, the operator said "
            "&x; on Monday.</p></article></body></html>"
        ),
        "invalid.json": text('{"title": "Broken", "text": "no closing brace"'),
        "json_without_text.json": text('{"title": "Only a title", "author": "Nobody"}'),
        "json_array_two.json": text(
            json.dumps(
                [
                    {
                        "title": "Santiago metro extends line",
                        "text": "Chile's Santiago metro opened a new line extension on "
                        "Saturday, the transport ministry said.",
                    },
                    {
                        "title": "Hanoi bans motorbikes downtown",
                        "text": "Hanoi will ban motorbikes from its old quarter on "
                        "weekends, Vietnam's capital said.",
                    },
                ]
            )
        ),
        "big_integer.json": text(
            '{"title": "Huge number", "text": "A number follows.", "n": ' + "9" * 5000 + "}"
        ),
        "mixed_lines.jsonl": text(
            json.dumps(
                {
                    "title": "Accra cocoa harvest falls",
                    "text": "Ghana's cocoa harvest around Accra fell by a fifth, the Ghana "
                    "Cocoa Board said.",
                }
            )
            + "\n{this line is not json}\n"
            + json.dumps(
                {
                    "title": "Manila typhoon warning",
                    "text": "The Philippines raised typhoon warnings for Manila on Sunday, "
                    "the weather bureau said.",
                }
            )
            + "\n"
        ),
        "all_bad_lines.jsonl": text("not json\n[1, 2]\n"),
        "archive.gz": lambda: gzip.compress(b"an article inside a gzip file\n" * 100, mtime=0),
        "archive.zip": lambda: _zip("inside.txt", "an article inside a zip file\n" * 100),
        "gzip_named_as_text.txt": lambda: gzip.compress(b"hidden text\n" * 100, mtime=0),
        "report.docx": lambda: _zip("word/document.xml", "<w:document/>"),
        "same_content_a.txt": text(SAME),
        "same_content_b.txt": text(SAME),
        "german_article.txt": text(GERMAN),
        "no_entities.txt": text(NO_ENTITIES),
        "control_and_ansi.txt": text(
            article(
                "Oslo \x1b[31mfjord\x1b[0m ferry fares cut",
                "OSLO",
                "Norway cut\x07 ferry fares on the Oslo fjord\x1b[2J on Monday, the "
                "\x1b]0;pwned\x07transport\x08 ministry said\x0b.",
            )
        ),
    }


def write_static(folder: Path = STATIC_DIR) -> list[Path]:
    """Write the committed part of the corpus (run this script to refresh it)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in _static().items():
        path = folder / name
        path.write_bytes(build())
        out.append(path)
    return out


#: generated file names, kept here so the test's table and the generator agree
LONG_NAME = "long-" + "x" * 241 + ".txt"  # 250 characters
NAMES = {
    "spaces": "name with  spaces.txt",
    "newline": "name\nwith newline.txt",
    "dash": "-leading-dash.txt",
    "dashes": "--help.txt",
    "long": LONG_NAME,
    "cyrillic": "статья о выборах.txt",
    "cjk": "新闻报道.txt",
    "arabic": "مقالة إخبارية.txt",
    "ansi_name": "\x1b[31mred\x1b[0m title.txt",
    "control_name": "bell\x07tab\tname.txt",
    # the longest name a Linux filesystem takes (255 bytes): indexed, and rejected, where
    # `<name>.error.json` cannot fit and is shortened beside it
    "max_name": "max-" + "y" * 247 + ".txt",
    "max_name_rejected": "max-" + "z" * 247 + ".png",
}


#: the article every deep-nesting and quadratic shape wraps
DEEP_STORY = [
    f"Part {i}: Strelsau port workers ended their strike on Tuesday after the ministry of "
    "Ruritania agreed to raise wages, the union said."
    for i in range(10)
]


def quadratic_shapes() -> dict[str, bytes]:
    """Files whose lines once cost quadratic (or worse) regex time, and 100,000 nested divs."""
    lead = "Strelsau dock strike ends\n\nStrelsau port workers ended their strike on Tuesday.\n\n"
    story = "".join(f"<p>{p}</p>" for p in DEEP_STORY)
    return {
        # 150 KB: an ATX heading line, a table rule line, a quote line (blanks inside)
        "quadratic_heading.md": ("# " + lead + "# a" + " " * 150_000 + "b\n").encode(),
        "quadratic_table.md": ("# " + lead + " " * 75_000 + "--" + " " * 75_000 + "x\n").encode(),
        "quadratic_quote.md": ("# " + lead + ">" + " " * 150_000 + "x\n").encode(),
        # 120 KB: a run of capitals and dots for the entity spans, blanks before a bracket
        "quadratic_caps.txt": (lead + "A. " * 40_000 + "x\n").encode(),
        "quadratic_dots.txt": (lead + "a.a." * 30_000 + "\n").encode(),
        "quadratic_blanks.txt": (lead + "Strelsau" + " " * 120_000 + "(Reuters)\n").encode(),
        # an article inside 100,000 nested <div>s (lxml stops reading at a depth of 256)
        "deep_100k.html": (
            "<html><head><title>Strelsau dock strike ends</title></head><body>"
            + "<div>" * 100_000
            + story
            + "</div>" * 100_000
            + "</body></html>"
        ).encode(),
    }


def build_generated(folder: Path, max_file_bytes: int) -> list[str]:
    """Create the files that are not committed; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    made: list[str] = []

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        made.append(name)

    # just over the configured limit (sparse: nothing is ever read past the size check)
    with open(folder / "too_big.txt", "wb") as handle:
        handle.truncate(max_file_bytes + 1024 * 1024)
    made.append("too_big.txt")
    line = ("lorem ipsum dolor sit amet " * 200_000)[: 5 * 1024 * 1024]
    put("one_line_5mb.txt", line.encode())
    put(
        "deep_nested.html",
        (
            "<html><body>"
            + "<div>" * 10_000
            + "<p>Deep inside ten thousand divs, Lima's mayor opened a park.</p>"
            + "</div>" * 10_000
            + "</body></html>"
        ).encode(),
    )
    put("deep_json.json", ("[" * 100_000 + "]" * 100_000).encode())
    for name, data in quadratic_shapes().items():
        put(name, data)
    places = {
        "spaces": "Dakar fishermen protest quotas",
        "newline": "Bogota taxi drivers strike",
        "dash": "Tunis bakery prices capped",
        "dashes": "Minsk court jails blogger",
        "long": "Perth heatwave breaks record",
        "cyrillic": "Выборы в Новосибирске прошли спокойно",
        "cjk": "上海港口吞吐量创新高",
        "arabic": "افتتاح معرض الكتاب في القاهرة",
        "ansi_name": "Kigali hosts cycling championship",
        "control_name": "Helsinki trams get new timetable",
        "max_name": "Hobart ferry timetable changes",
        "max_name_rejected": "Darwin cyclone warning lifted",
    }
    for key, name in NAMES.items():
        put(name, article(places[key], "WIRE", f"{places[key]}, officials said on {key}.").encode())
    os.symlink("/etc/passwd", folder / "link_to_passwd.txt")
    made.append("link_to_passwd.txt")
    os.mkfifo(folder / "fifo.txt")
    made.append("fifo.txt")
    put(".hidden.txt", b"a dotfile is never taken")
    put("partial.txt.part", b"a temporary name is never taken")
    return made


if __name__ == "__main__":
    for path in write_static(Path(sys.argv[1]) if len(sys.argv) > 1 else STATIC_DIR):
        print(path)
