#!/usr/bin/env python3
"""Split a Romanian (or bilingual Romanian/English) contract into numbered clauses and
flag the key legal terms a reviewer must look at.

Usage:
    python scripts/extract_clauses.py CONTRACT.txt
    python scripts/extract_clauses.py CONTRACT.txt --format json
    python scripts/extract_clauses.py - --format markdown < contract.txt

Input is plain text (UTF-8 by default; see --encoding). Convert .docx or .pdf files to
text first. The script uses the Python standard library only: it reads the one file it is
given, writes to standard output, and does nothing else.

What it recognises as the start of a clause (at the beginning of a line):
    "Art. 5", "ART. 5.1", "Articolul 5", "Article 5", "Clauza 3", "Clause 3",
    "5.", "5.1", "5.1.2.", "5)", "CAPITOLUL II", "Cap. 2", "Secțiunea 1", "II. OBIECTUL"
If no heading is found, blank-line separated paragraphs are numbered P1, P2, ...

Each clause is flagged with the categories of Romanian (and English) key terms it
contains: penalty (clauză penală), termination (reziliere, rezoluțiune, denunțare),
liability, force majeure, jurisdiction and governing law, personal data (GDPR),
confidentiality, payment, duration, assignment, notices, intellectual property and the
"unusual standard clauses" of art. 1203 Codul civil. Periods ("30 de zile"), amounts
("10.000 lei", "EUR 500") and percentages ("0,1%") are extracted as well.

The output is a reading aid for a lawyer, not a legal opinion: a clause may matter even
if no term is flagged, and a flagged term may be harmless in context.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------------------------------
# Key terms. Each pattern is matched against the text folded to lower-case ASCII
# (diacritics removed, so "clauză", "clauza", "CLAUZĂ" and the cedilla forms of ș/ț all
# match). The label is what the report shows.
# ---------------------------------------------------------------------------------------

CATEGORIES: dict[str, list[tuple[str, str]]] = {
    "penalty": [
        ("clauză penală", r"\bclauz[ae]i? penal[ae]"),
        ("penalități", r"\bpenalit(ati|atile|atea|ate)\b"),
        ("daune-interese", r"\bdaune[- ]interese\b"),
        ("daune moratorii / compensatorii", r"\bdaune (moratorii|compensatorii)\b"),
        ("dobândă penalizatoare", r"\bdobanzi? penalizatoare\b"),
        ("penalty / liquidated damages", r"\b(penalty|penalties|liquidated damages)\b"),
    ],
    "termination": [
        ("reziliere", r"\brezili(ere|erea|erii|aza|a|at|ata|eze)\b"),
        ("rezoluțiune", r"\brezolutiun(e|ea|ii)\b"),
        ("denunțare unilaterală", r"\bdenunt(are|area|a|ata|e)\b"),
        ("pact comisoriu", r"\bpact(ul)? comisoriu\b"),
        ("de plin drept", r"\bde plin drept\b"),
        ("încetare", r"\b(incetare|incetarea|inceteaza|inceta)\b"),
        ("termination", r"\b(terminat(e|es|ed|ion)|rescission|rescind)\b"),
    ],
    "liability": [
        (
            "limitarea răspunderii",
            r"\blimit(area|ari|eaza)? (a )?raspunderii\b|\braspunderea\b.{0,80}\blimitat",
        ),
        ("exonerare de răspundere", r"\bexoner(are|area|eaza|at|ata|ati)\b"),
        ("răspundere", r"\braspunder(e|ea|ii)\b"),
        ("culpă gravă / intenție", r"\b(culpa grava|intentie|dol)\b"),
        ("liability", r"\b(liability|liable|indemnif(y|ication))\b"),
    ],
    "force_majeure": [
        ("forță majoră", r"\bforta majora\b|\bfortei majore\b"),
        ("caz fortuit", r"\bcaz(ul)? fortuit\b"),
        ("impreviziune", r"\bimpreviziun(e|ea|ii)\b"),
        ("force majeure / hardship", r"\b(force majeure|hardship)\b"),
    ],
    "jurisdiction": [
        ("instanța competentă", r"\binstant(a|ele|ei) (judecatoresti? )?competent(a|e)\b"),
        ("competență", r"\bcompetent(a|ei) (teritoriala|materiala|exclusiva)\b"),
        ("arbitraj", r"\barbitra(j|jul|jului|l|la|le)\b"),
        ("legea aplicabilă", r"\blegea aplicabila\b|\blegii aplicabile\b"),
        ("legea română", r"\b(legea|legile|dreptul) roman(a|e)?\b|\blegislati(a|ei) romane?\b"),
        ("litigii", r"\blitigi(u|ul|i|ile|ilor)\b"),
        ("mediere / soluționare amiabilă", r"\b(medier(e|ea)|amiabil)\b"),
        (
            "jurisdiction / governing law",
            r"\b(jurisdiction|governing law|arbitration|courts? of)\b",
        ),
    ],
    "gdpr": [
        ("date cu caracter personal", r"\bdate(le|lor)? cu caracter personal\b"),
        ("GDPR / Regulamentul (UE) 2016/679", r"\b(gdpr|rgpd)\b|2016/679"),
        ("Legea nr. 190/2018", r"\b190/2018\b"),
        ("persoană împuternicită", r"\bpersoan(a|ei) imputernicit(a|e)\b"),
        ("operator de date", r"\boperator(ul)? (de date|asociat)\b"),
        ("prelucrare", r"\bprelucr(are|area|arii|eaza|ate)\b"),
        (
            "personal data / processor",
            r"\b(personal data|data processor|data controller|data protection)\b",
        ),
    ],
    "confidentiality": [
        ("confidențialitate", r"\bconfidential(itate|itatea|itatii|e|a)?\b"),
        ("secret comercial", r"\bsecret(e|ul|ele)? (comercial|comerciale|de afaceri)\b"),
        ("confidential / trade secret", r"\b(confidential(ity)?|trade secrets?|non-disclosure)\b"),
    ],
    "payment": [
        ("preț", r"\bpret(ul|ului)?\b"),
        ("plată", r"\bplat(a|ii|ile|ilor)\b"),
        ("factură", r"\bfactur(a|ii|ile|ilor|are|ata)\b"),
        ("dobândă", r"\bdobanz(ii|i|ile)\b|\bdobanda\b"),
        ("TVA", r"\btva\b"),
        ("payment / invoice / fee", r"\b(payment|invoice|fees?|price)\b"),
    ],
    "duration": [
        ("durata contractului", r"\bdurat(a|ei)\b"),
        ("intrare în vigoare", r"\bintra in vigoare\b|\bintrarii in vigoare\b"),
        ("prelungire / reînnoire", r"\b(prelungi(re|rea|te|ta|t)|reinnoi(re|rea|t|ta))\b"),
        ("tacită reconducțiune", r"\btacit(a|e)? (reconductiune|prelungire|reinnoire)\b"),
        (
            "term / renewal",
            r"\b(renewal|automatically renew(s|ed)?|term of (this|the) agreement)\b",
        ),
    ],
    "assignment": [
        ("cesiune", r"\bcesiun(e|ea|ii)\b|\bcesiona(re|rea|t|ta|za)?\b"),
        ("subcontractare", r"\bsubcontract(are|area|ant|anti|ori)\b"),
        ("assignment / subcontracting", r"\b(assign(ment)?|subcontract(ing|or)?)\b"),
    ],
    "notices": [
        ("notificare", r"\bnotific(are|area|ari|arile|a|ata)\b"),
        ("punere în întârziere", r"\bpune(re|rea)? in intarziere\b"),
        ("notice", r"\b(notices?|notification)\b"),
    ],
    "intellectual_property": [
        ("proprietate intelectuală", r"\bproprietat(e|ii) intelectual(a|e)\b"),
        ("drept de autor / licență", r"\b(drept(ul|urile)? de autor|licent(a|ei|e))\b"),
        ("intellectual property / licence", r"\b(intellectual property|licen[cs]e)\b"),
    ],
    "obligations": [
        ("se obligă", r"\bse obliga\b|\bsunt obligat[ei]\b|\beste obligat(a)?\b"),
        ("obligații", r"\bobligati(a|ile|ilor|e|i)\b"),
        ("shall / undertakes", r"\b(shall|undertakes?)\b"),
    ],
}

# Terms that, when they appear in a standard-form contract, are "clauze standard
# neuzuale" under art. 1203 Codul civil: they take effect only if the other party
# accepted them expressly, in writing.
ART_1203_PATTERNS: list[tuple[str, str]] = [
    (
        "limitarea sau excluderea răspunderii",
        r"\blimit(area|ari|eaza)? (a )?raspunderii\b|\braspunderea\b.{0,80}\blimitat"
        r"|\bexoner(are|area|eaza|at|ata|ati)\b",
    ),
    ("denunțare unilaterală", r"\bdenunt(are|area|a|e) unilateral"),
    ("suspendarea executării", r"\bsuspend(a|are|area)\b.{0,40}\bexecutar"),
    ("decădere din drepturi / din termen", r"\bdecade(re|rea)\b"),
    ("prelungire sau reînnoire tacită", r"\btacit(a|e)?\b"),
    ("legea aplicabilă", r"\blegea aplicabila\b"),
    ("clauză compromisorie (arbitraj)", r"\barbitra(j|l)"),
    ("derogare de la competența instanțelor", r"\binstant(a|ele|ei) (judecatoresti? )?competent"),
    ("limitarea dreptului de a opune excepții", r"\bexceptii(le)?\b"),
    ("restrângerea libertății de a contracta", r"\b(exclusivitate|neconcurenta|non-concurenta)\b"),
]

# Categories every commercial contract is expected to address; missing ones are listed.
EXPECTED = ["payment", "duration", "termination", "liability", "jurisdiction", "notices"]

HEADING_PATTERNS: list[tuple[str, int]] = [
    # (pattern on the folded, stripped line; level: 0 chapter, 1 article, 2 sub-clause)
    (r"^(capitolul|cap\.|chapter|sectiunea|section)\s+([ivxlc]+|[0-9]{1,3})\b", 0),
    (r"^(articolul|articol|article|art\.|art)\s*([0-9]{1,3}(\.[1-9][0-9]{0,2}){0,3})\b", 1),
    (r"^(clauza|clause)\s+([0-9]{1,3}(\.[1-9][0-9]{0,2}){0,3})\b", 1),
    (r"^([ivxlc]{1,6})\.\s+\S", 0),
    (r"^([1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,3})(\.|\))?\s+\S", -1),
]

PERIOD_RE = (
    r"\b([0-9]{1,4}|un|una|o|doua|trei|cinci|zece|cincisprezece|treizeci)"
    r"\s*(\([^)]{1,30}\)\s*)?(de\s+)?"
    r"(zile lucratoare|zile calendaristice|zile|zi|luni|luna|ani|an|saptamani|ore"
    r"|business days|calendar days|days|months|years|hours)\b"
)
AMOUNT_RE = (
    r"(\b(lei|ron|eur|euro|usd)\s*[0-9][0-9., ]{0,20}[0-9]"
    r"|\b[0-9][0-9., ]{0,20}[0-9]? ?(lei|ron|eur|euro|usd)\b"
    r"|\u20ac\s*[0-9][0-9.,]{0,20})"
)
PERCENT_RE = r"\b[0-9]{1,3}([.,][0-9]{1,3})?\s*(%|la suta|procent)"


def fold(text: str) -> str:
    """Lower-case ASCII folding: 'Clauză PENALĂ' -> 'clauza penala' (ș/ş, ț/ţ alike)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.lower()


@dataclass
class Clause:
    number: str
    heading: str
    level: int
    start_line: int
    end_line: int = 0
    lines: list[str] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)
    art_1203: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    percentages: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "heading": self.heading,
            "level": self.level,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "flags": self.flags,
            "art_1203_candidates": self.art_1203,
            "periods": self.periods,
            "amounts": self.amounts,
            "percentages": self.percentages,
            "text": self.text,
        }


def detect_heading(line: str) -> tuple[str, str, int] | None:
    """Return (kind, clause number, level) when the line starts a clause, else None.

    kind is "chapter", "article" or "numeric"; level 0 is a chapter, 1 an article,
    2 a sub-clause.
    """
    stripped = line.strip()
    folded = fold(stripped)
    if not folded:
        return None
    for pattern, level in HEADING_PATTERNS:
        match = re.match(pattern, folded)
        if not match:
            continue
        if level == 0:
            if match.group(0).rstrip().endswith(".") and pattern.startswith("^([ivxlc]"):
                # "II. OBIECTUL CONTRACTULUI" is a heading; "c. plata" is a list item.
                title = stripped[len(match.group(1)) + 1 :].strip()
                letters = [ch for ch in title if ch.isalpha()]
                if not letters or not all(ch.isupper() for ch in letters[:12]):
                    continue
            label = match.group(0).rstrip(". ").split()
            return "chapter", " ".join(label[:2]).upper(), 0
        if level == 1:
            return "article", "Art. " + match.group(2), 1
        number = match.group(1)
        # "5." or "5)" is an article; "5.1" or deeper is a sub-clause.
        return "numeric", number, 1 if "." not in number else 2
    return None


def split_clauses(text: str) -> list[Clause]:
    lines = text.splitlines()
    headings = [detect_heading(line) for line in lines]
    # When the contract uses "Art. N" headings, plain numbers ("1.", "2)") inside an
    # article are its paragraphs (alineate) and are numbered "Art. N (1)".
    has_articles = any(h is not None and h[0] == "article" for h in headings)
    clauses: list[Clause] = []
    preamble = Clause(number="Preambul", heading="", level=0, start_line=1)
    current = preamble
    article = ""
    for index, (line, heading) in enumerate(zip(lines, headings, strict=True), start=1):
        if heading is not None:
            kind, number, level = heading
            if kind == "article":
                article = number
            elif kind == "numeric" and has_articles:
                if not article:
                    current.lines.append(line)
                    continue
                if "." not in number:
                    number = f"{article} ({number})"
                level = 2
            current.end_line = index - 1
            current = Clause(
                number=number, heading=line.strip()[:120], level=level, start_line=index
            )
            clauses.append(current)
        current.lines.append(line)
    current.end_line = len(lines)
    if preamble.text:
        clauses.insert(0, preamble)
    if len(clauses) <= 1:
        return split_paragraphs(lines)
    return clauses


def split_paragraphs(lines: list[str]) -> list[Clause]:
    """Fallback for texts without numbering: one clause per blank-line paragraph."""
    clauses: list[Clause] = []
    current: Clause | None = None
    for index, line in enumerate(lines, start=1):
        if not line.strip():
            if current is not None:
                current.end_line = index - 1
                current = None
            continue
        if current is None:
            current = Clause(
                number=f"P{len(clauses) + 1}", heading=line.strip()[:120], level=1, start_line=index
            )
            clauses.append(current)
        current.lines.append(line)
    if current is not None:
        current.end_line = len(lines)
    return clauses


def unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        cleaned = " ".join(item.split())
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    return seen


def analyse(clause: Clause) -> None:
    original = clause.text
    folded = fold(original)
    for category, terms in CATEGORIES.items():
        hits = [label for label, pattern in terms if re.search(pattern, folded)]
        if hits:
            clause.flags[category] = hits
    clause.art_1203 = [label for label, pattern in ART_1203_PATTERNS if re.search(pattern, folded)]
    # NFKD folding can change string length, so extract values from the original text
    # with case-insensitive patterns that accept both diacritic and plain spellings.
    plain = fold_keep_length(original)
    clause.periods = unique([original[m.start() : m.end()] for m in re.finditer(PERIOD_RE, plain)])
    clause.amounts = unique([original[m.start() : m.end()] for m in re.finditer(AMOUNT_RE, plain)])
    clause.percentages = unique(
        [original[m.start() : m.end()] for m in re.finditer(PERCENT_RE, plain)]
    )


def fold_keep_length(text: str) -> str:
    """Like fold(), but character by character so that offsets stay aligned."""
    out = []
    for ch in text:
        base = fold(ch)
        out.append(base[0] if len(base) == 1 else ch.lower()[:1] or ch)
    return "".join(out)


def build_report(text: str, source: str) -> dict[str, object]:
    clauses = split_clauses(text)
    for clause in clauses:
        analyse(clause)
    summary: dict[str, list[str]] = {name: [] for name in CATEGORIES}
    for clause in clauses:
        for category in clause.flags:
            summary[category].append(clause.number)
    missing = [name for name in EXPECTED if not summary[name]]
    return {
        "source": source,
        "line_count": len(text.splitlines()),
        "clause_count": len(clauses),
        "clauses": [clause.as_dict() for clause in clauses],
        "summary": {name: numbers for name, numbers in summary.items() if numbers},
        "missing_expected_categories": missing,
        "art_1203_clauses": [c.number for c in clauses if c.art_1203],
        "note": "Automated reading aid; verify every clause in full. Not legal advice.",
    }


def excerpt(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def render_text(report: dict[str, object]) -> str:
    out = [
        f"Source: {report['source']} ({report['line_count']} lines, "
        f"{report['clause_count']} clauses)",
        "",
    ]
    for clause in report["clauses"]:  # type: ignore[union-attr]
        out.append(
            f"[{clause['number']}] lines {clause['start_line']}-{clause['end_line']}: "
            f"{excerpt(clause['heading'], 80)}"
        )
        for category, hits in clause["flags"].items():
            out.append(f"    {category}: {', '.join(hits)}")
        if clause["art_1203_candidates"]:
            out.append(
                "    art. 1203 C. civ. (express written acceptance needed if standard "
                f"clause): {', '.join(clause['art_1203_candidates'])}"
            )
        for key in ("periods", "amounts", "percentages"):
            if clause[key]:
                out.append(f"    {key}: {'; '.join(clause[key])}")
        out.append(f"    text: {excerpt(clause['text'])}")
    out.append("")
    out.append("Summary (category: clauses)")
    for category, numbers in report["summary"].items():  # type: ignore[union-attr]
        out.append(f"    {category}: {', '.join(numbers)}")
    missing = report["missing_expected_categories"]
    out.append("Expected but not found: " + (", ".join(missing) if missing else "none"))  # type: ignore[arg-type]
    out.append(str(report["note"]))
    return "\n".join(out) + "\n"


def render_markdown(report: dict[str, object]) -> str:
    out = [
        f"## Clause map: {report['source']}",
        "",
        "| Clause | Lines | Flags | Periods / amounts / % | art. 1203 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for clause in report["clauses"]:  # type: ignore[union-attr]
        flags = "; ".join(f"{k}: {', '.join(v)}" for k, v in clause["flags"].items())
        values = "; ".join(clause["periods"] + clause["amounts"] + clause["percentages"])
        out.append(
            f"| {clause['number']} | {clause['start_line']}-{clause['end_line']} | "
            f"{flags.replace('|', '/') or '-'} | {values.replace('|', '/') or '-'} | "
            f"{', '.join(clause['art_1203_candidates']) or '-'} |"
        )
    missing = report["missing_expected_categories"]
    out += [
        "",
        "Expected but not found: " + (", ".join(missing) if missing else "none"),  # type: ignore[arg-type]
        "",
        f"_{report['note']}_",
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Split a Romanian contract into clauses and flag key legal terms."
    )
    parser.add_argument("path", help="plain-text contract file, or - for standard input")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="input encoding (default utf-8; try cp1250 for old Windows files)",
    )
    args = parser.parse_args(argv)
    try:
        if args.path == "-":
            text = sys.stdin.read()
            source = "<stdin>"
        else:
            text = Path(args.path).read_text(encoding=args.encoding)
            source = args.path
    except (OSError, UnicodeDecodeError, LookupError) as error:
        print(f"error: cannot read {args.path}: {error}", file=sys.stderr)
        return 1
    if not text.strip():
        print("error: the input is empty", file=sys.stderr)
        return 1
    report = build_report(text, source)
    if args.format == "json":
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(report))
    else:
        sys.stdout.write(render_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
