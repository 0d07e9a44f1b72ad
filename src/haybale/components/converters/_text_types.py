"""Plain-text formats beyond prose: source code, configuration and markup, known by name on every machine, and
text recognised by its bytes when its name says nothing.

Python's ``mimetypes`` table comes from the host (``/etc/mime.types`` and friends), so whether ``notes.go``
or ``deploy.yaml`` was text used to depend on the machine, and YAML and XML came out as ``application/*``
types no converter took. These tables make the answer the same everywhere. Their types are all ``text/*``,
which the text converter reads; whitespace is part of their meaning (indentation in Python, YAML and
Makefiles, tabs in TSV), so :data:`LAYOUT_MIME_TYPES` tells the cleaner to keep it.
"""

from __future__ import annotations

__all__ = ["LAYOUT_MIME_TYPES", "SOURCE_EXTENSIONS", "SOURCE_FILE_NAMES", "looks_like_text"]

_LANGUAGES: dict[str, tuple[str, ...]] = {
    "text/x-python": (".py", ".pyi", ".pyw"),
    "text/javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "text/x-typescript": (".ts", ".tsx", ".mts", ".cts"),
    "text/x-java": (".java",),
    "text/x-kotlin": (".kt", ".kts"),
    "text/x-scala": (".scala", ".sc"),
    "text/x-groovy": (".groovy", ".gradle"),
    "text/x-go": (".go",),
    "text/x-rust": (".rs",),
    "text/x-ruby": (".rb", ".rake", ".gemspec"),
    "text/x-php": (".php",),
    "text/x-csharp": (".cs", ".csx"),
    "text/x-fsharp": (".fs", ".fsx"),
    "text/x-vb": (".vb",),
    "text/x-c": (".c", ".h"),
    "text/x-c++": (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx"),
    "text/x-objective-c": (".m", ".mm"),
    "text/x-swift": (".swift",),
    "text/x-dart": (".dart",),
    "text/x-lua": (".lua",),
    "text/x-perl": (".pl", ".pm"),
    "text/x-r": (".r",),
    "text/x-julia": (".jl",),
    "text/x-haskell": (".hs",),
    "text/x-elixir": (".ex", ".exs"),
    "text/x-erlang": (".erl", ".hrl"),
    "text/x-clojure": (".clj", ".cljs", ".edn"),
    "text/x-ocaml": (".ml", ".mli"),
    "text/x-zig": (".zig",),
    "text/x-shellscript": (".sh", ".bash", ".zsh", ".fish"),
    "text/x-powershell": (".ps1", ".psm1"),
    "text/x-bat": (".bat", ".cmd"),
    "text/x-sql": (".sql",),
    "text/x-graphql": (".graphql", ".gql"),
    "text/x-protobuf": (".proto",),
    "text/x-terraform": (".tf", ".tfvars", ".hcl"),
    "text/x-vue": (".vue",),
    "text/x-svelte": (".svelte",),
    "text/css": (".css", ".scss", ".sass", ".less"),
    "text/xml": (".xml", ".xsd", ".xsl", ".svg", ".plist"),
    "text/yaml": (".yaml", ".yml"),
    "text/x-toml": (".toml",),
    "text/x-ini": (".ini", ".cfg", ".conf", ".properties"),
    "text/x-rst": (".rst",),
    "text/x-tex": (".tex",),
    "text/x-diff": (".diff", ".patch"),
    "text/tab-separated-values": (".tsv",),
}
#: Extension -> MIME type of source code, configuration and markup files.
SOURCE_EXTENSIONS: dict[str, str] = {
    extension: mime for mime, extensions in _LANGUAGES.items() for extension in extensions
}
#: Well-known file names without a telling extension (compared lower-cased).
SOURCE_FILE_NAMES: dict[str, str] = {
    "dockerfile": "text/x-dockerfile",
    "containerfile": "text/x-dockerfile",
    "makefile": "text/x-makefile",
    "gnumakefile": "text/x-makefile",
    "jenkinsfile": "text/x-groovy",
    "gemfile": "text/x-ruby",
    "rakefile": "text/x-ruby",
    "vagrantfile": "text/x-ruby",
}
#: Types whose whitespace carries meaning: documents of these types keep their indentation and tabs.
LAYOUT_MIME_TYPES = frozenset({*SOURCE_EXTENSIONS.values(), *SOURCE_FILE_NAMES.values()})

_TEXT_CONTROLS = frozenset(b"\t\n\v\f\r\x1b")


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file with no telling name are text: no NUL byte, and (almost) no control
    characters besides whitespace. Holds for UTF-8 and the other ASCII-based encodings; binary formats have
    NUL or control bytes within their first kilobytes."""
    if not head or b"\x00" in head:
        return False
    controls = sum(1 for byte in head if (byte < 0x20 or byte == 0x7F) and byte not in _TEXT_CONTROLS)
    return controls * 1000 <= len(head)
