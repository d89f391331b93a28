"""Load, validate and resolve the YAML inventory.

Validation is a JSON Schema (inventory_schema.py, checked by the jsonschema library) run over the data
as `yaml.safe_load` would build it; the YAML node tree keeps every value's position so each error is
reported as `FILE:LINE:COLUMN: what is wrong`. Checks a schema cannot express (duplicate names,
references between sections) follow, with positions too.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import ipaddress
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from novactl.errors import InventoryError, unknown

if TYPE_CHECKING:
    import jsonschema
from novactl.inventory_schema import ABS_PATH, BRIDGE, HOSTNAME, SAFE_NAME, SCHEMA, SSH_PUBLIC_KEY, UUID, VERSION_REQUIREMENT
from novactl.models import (
    Flavor,
    HostConfig,
    Image,
    Inventory,
    Keypair,
    Network,
    SchedulerConfig,
    ServerGroupDef,
    blob_type,
)

BUILTIN = "<built-in default>"
MERGE_TAG = "tag:yaml.org,2002:merge"  # `<<`
VALUE_TAG = "tag:yaml.org,2002:value"  # `=`
INT_TAG = "tag:yaml.org,2002:int"
# A position inside the document: keys and list indexes, "<key>" for a key itself, "<merge>" for a merged
# (<<) mapping; merged keys have no position of their own, so errors in them point at the merging mapping.
Path_ = tuple

_PATTERN_WORDS = {
    HOSTNAME: "a valid host name",
    SAFE_NAME: "a safe name (letters, digits, '.', '_', '-'; at most 63 characters)",
    ABS_PATH: "an absolute path without '..' or special characters",
    UUID: "a UUID",
    BRIDGE: "a valid interface name (at most 15 characters)",
    VERSION_REQUIREMENT: "a version requirement such as '>=2.11,<3.0'",
    SSH_PUBLIC_KEY: "one OpenSSH public key line (TYPE BASE64 [comment])",
}

# Parsing with positions is pure Python (about 3 s per MiB of dense YAML): a file past this cap is refused
# unread. A thousand-host inventory with facts is a few hundred KiB.
MAX_INVENTORY_BYTES = 2 * 1024**2

# Nova's classic flavors, for the built-in default.
CLASSIC_FLAVORS = [
    {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
    {"id": "2", "name": "m1.small", "ram": 2048, "disk": 20, "vcpus": 1},
    {"id": "3", "name": "m1.medium", "ram": 4096, "disk": 40, "vcpus": 2},
    {"id": "4", "name": "m1.large", "ram": 8192, "disk": 80, "vcpus": 4},
    {"id": "5", "name": "m1.xlarge", "ram": 16384, "disk": 160, "vcpus": 8},
]


def find_inventory(explicit: str | None) -> str | None:
    """-i FILE, else $NOVACTL_INVENTORY, else ./inventory.yaml, else the user's config, else None."""
    return locate_inventory(explicit)[0]


# Why locate_inventory chose what it chose (the first that applies wins).
BY_OPTION, BY_VARIABLE, BY_CWD, BY_USER_CONFIG, BY_DEFAULT = (
    "given with -i/--inventory",
    "from $NOVACTL_INVENTORY",
    "./inventory.yaml exists",
    "~/.config/novactl/inventory.yaml exists",
    "no -i, no $NOVACTL_INVENTORY, no ./inventory.yaml, no ~/.config/novactl/inventory.yaml: this machine as a one-host cluster",
)


def locate_inventory(explicit: str | None) -> tuple[str | None, str]:
    """The inventory file to read (None: the built-in default) and why, for --debug and inventory-show."""
    if explicit:
        return explicit, BY_OPTION
    if os.environ.get("NOVACTL_INVENTORY"):
        return os.environ["NOVACTL_INVENTORY"], BY_VARIABLE
    for candidate, why in ((Path("inventory.yaml"), BY_CWD), (Path.home() / ".config/novactl/inventory.yaml", BY_USER_CONFIG)):
        if candidate.is_file():
            return str(candidate), why
    return None, BY_DEFAULT


def load_inventory(path: str | None) -> Inventory:
    if path is None:
        return builtin_inventory()
    data = read_inventory_bytes(path)
    try:
        text = data.decode("utf-8")  # YAML's own encoding; not the locale's, which varies between machines
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InventoryError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})") from None
    return parse_inventory(text, path)


def read_inventory_bytes(path: str) -> bytes:
    """The file's bytes: a regular file only, and at most MAX_INVENTORY_BYTES of it.

    Opened non-blocking, so a FIFO cannot hold the command at open(); then anything but a regular file
    (a FIFO, /dev/zero, a terminal) is refused before a byte is read, and the read stops one byte past
    the cap, so neither time nor memory depends on what the path turns out to be.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read inventory: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "Is a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise InventoryError(f"{path}: cannot read inventory: {kind}")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_INVENTORY_BYTES + 1)
        except OSError as exc:
            raise InventoryError(f"{path}: cannot read inventory: {exc.strerror}") from None
    if len(data) > MAX_INVENTORY_BYTES:
        raise InventoryError(f"{path}: the inventory is larger than {MAX_INVENTORY_BYTES // 1024**2} MiB; refusing to parse it")
    return data


def builtin_inventory() -> Inventory:
    """This machine as a one-host cluster over qemu:///system, with Nova's classic flavors."""
    return build_inventory(_builtin_data(), {}, BUILTIN, Path.cwd())


def builtin_text() -> str:
    """The built-in default as an inventory file, for commands that must write one to edit it."""
    body = yaml.safe_dump(_builtin_data(), sort_keys=False, default_flow_style=None)
    return "# novactl inventory: written from the built-in default (this machine, Nova's classic flavors).\n" + body


def _builtin_data() -> dict:
    import socket  # only the built-in default needs this machine's name

    return {
        "hosts": [{"name": socket.gethostname().split(".")[0], "transport": "local"}],
        "flavors": CLASSIC_FLAVORS,
        # libvirt's own NAT network with DHCP (defined on first boot if missing): guests reach out
        # and this machine learns their addresses from the leases.
        "networks": [{"name": "default", "libvirt_network": "default"}],
    }


def parse_inventory(text: str, path: str) -> Inventory:
    data, marks = _load_yaml(text, path)
    if data is None:
        data = {}
    entry = _cache_entry(text)
    if entry is None or not _remembered(*entry):
        errors = sorted(
            _validator().iter_errors(data),
            key=lambda e: _position(marks, _error_path(e)),
        )
        if errors:
            raise InventoryError("\n".join(_located(path, marks, _error_path(e), _describe(e)) for e in errors[:10]))
        if entry is not None:
            _remember(*entry)
    return build_inventory(data, marks, path, Path(path).resolve().parent)


# -- the schema check, remembered ---------------------------------------------------------------
# Importing jsonschema and running it costs more than the rest of a read-only command. A text that
# passed the schema passes it again, so a text that passed is remembered: a file in the user's cache
# holding the schema and the text, read back and compared in full before the check is skipped (a new
# schema or a changed file is checked afresh; two texts sharing a file name only miss). It counts only
# as a regular file of this user's that no one else may read or write, in a directory of this user's
# that no one else may enter. Only the schema check is skipped: everything after it, with its
# FILE:LINE:COLUMN errors, runs on every load.


def _cache_entry(text: str) -> tuple[Path, bytes] | None:
    """Where `text` is remembered and what that file holds; None when there is no cache directory to use."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    content = _schema_text() + b"\0" + text.encode("utf-8", "surrogatepass")
    # crc32 only spreads the files: what is remembered is decided by comparing the whole content.
    return Path(base, "novactl", "valid-inventories", f"{binascii.crc32(content):08x}"), content


@functools.cache
def _schema_text() -> bytes:
    return repr(SCHEMA).encode()


def _remembered(entry: Path, content: bytes) -> bool:
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not (_private(os.fstat(fd), stat.S_ISREG) and _private(os.lstat(entry.parent), stat.S_ISDIR)):
            return False
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(len(content) + 1) == content
    except OSError:
        return False
    finally:
        os.close(fd)


def _private(status: os.stat_result, is_kind: Callable[[int], bool]) -> bool:
    """Of the right kind, this user's, and nothing for group or others."""
    return is_kind(status.st_mode) and status.st_uid == os.geteuid() and not status.st_mode & 0o077


def _remember(entry: Path, content: bytes) -> None:
    """Write the entry atomically (a temporary name, then rename), mode 0600 in a 0700 directory; a cache
    that cannot be written is no error."""
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = entry.with_name(f".{entry.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, entry)
    except OSError:
        pass


def _is_integer(checker: jsonschema.TypeChecker, instance: Any) -> bool:
    # JSON Schema counts 2.0 as an integer; Python code given it fails later (a slice index, range()).
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # here, not at the top: a remembered inventory never needs it

    cls = jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
    )
    return cls(SCHEMA)


def build_inventory(data: dict, marks: dict, path: str, source_dir: Path) -> Inventory:
    _check_unique(data, marks, path)
    _check_scheduler(data, marks, path)
    defaults = data.get("defaults", {})
    hosts = [_host(h, defaults, source_dir, marks, path, i) for i, h in enumerate(data.get("hosts", []))]
    if not hosts:
        raise InventoryError(_located(path, marks, (), "the inventory defines no hosts"))
    inventory = Inventory(
        path=path,
        scheduler=SchedulerConfig(**data.get("scheduler", {})),
        hosts=hosts,
        # No `flavors:` key keeps Nova's classic m1.* flavors; a `flavors:` list (even empty) replaces them.
        flavors=[_flavor(f) for f in data.get("flavors", CLASSIC_FLAVORS)],
        images=[_image(i) for i in data.get("images", [])],
        networks=[_network(n, marks, path, i) for i, n in enumerate(data.get("networks", []))],
        server_groups=[ServerGroupDef(**g) for g in data.get("server_groups", [])],
        source_dir=source_dir,
        keypairs=[_keypair(k, source_dir, marks, path, i) for i, k in enumerate(data.get("keypairs", []))],
    )
    _check_references(inventory, data, marks, path)
    return inventory


# -- YAML with positions -------------------------------------------------------------------------


def _load_yaml(text: str, path: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader checks every character here: control characters raise
        node = loader.get_single_node()
        builder = _Builder(loader, path)
        data = None if node is None else builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise InventoryError(f"{path}:{line}:{col}: invalid YAML: {_yaml_sentence(exc.problem or exc.context or '')}") from None
    except yaml.reader.ReaderError as exc:  # unmarked, and its str() spans two lines
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        raise InventoryError(f"{path}:{line}:{col}: invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:  # PyYAML's composer, and _Builder, recurse once per level of nesting
        raise InventoryError(f"{path}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, builder.marks


# PyYAML's parser phrases, and what they mean to a person editing an inventory.
_YAML_SENTENCES = [
    (
        "mapping values are not allowed here",
        "a 'key: value' where none can start: indent this line like its neighbours, or quote a value holding ': '",
    ),
    ("expected <block end>", "this line's indentation does not match the lines above it"),
    ("could not find expected ':'", "a line that is not 'key: value' (a missing ':', or a value that needs quotes)"),
    ("that cannot start any token", "a character that cannot start a value here (a tab? YAML indents with spaces only)"),
    ("expected ',' or ']'", "a '[' list that is never closed with ']'"),
    ("expected ',' or '}'", "a '{' mapping that is never closed with '}'"),
    ("found unexpected end of stream", "a quoted string that is never closed"),
    ("but found another document", "a second document ('---'): an inventory is one document"),
    ("could not determine a constructor for the tag", "a tag (!!...) that the safe loader refuses"),
]


def _yaml_sentence(problem: str) -> str:
    """PyYAML's problem as a sentence, with its own words kept after it (they name the tokens)."""
    for phrase, sentence in _YAML_SENTENCES:
        if phrase in problem:
            return f"{sentence} (YAML: {problem})"
    return problem


class _Builder:
    """Builds from the node tree what safe_load would, recording each value's position in `marks`.

    A node reached through several aliases is built once and its value shared, as safe_load does, so
    "billion laughs" aliases cost nothing to load. `size` still counts the values the data expands to,
    and a document past MAX_VALUES is refused: consumers such as JSON output walk the expansion.

    The result is JSON data, whatever the YAML says: mappings with string keys, lists, strings,
    booleans, null, integers of at most MAX_INT_CHARS characters and finite floats, at most MAX_DEPTH
    levels deep. Anything else (a date, !!binary, .nan, a 5,000-digit integer, `1: x` as a key) is an
    error at its position here, so nothing downstream (the schema, the scheduler, JSON output, YAML
    output's recursion) meets a value it cannot handle.
    """

    MAX_VALUES = 100_000  # a large cluster's inventory has a few thousand
    MAX_DEPTH = 32  # the schema's deepest path is 6; free-form facts (cpu_info, pci_devices) need a few more
    MAX_INT_CHARS = 40  # far past every maximum of the schema; Python refuses int("1" * 4301) outright

    def __init__(self, loader: yaml.SafeLoader, path: str):
        self.loader = loader
        self.path = path
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.size = 0
        self._built: dict[int, tuple[Any, int, int]] = {}  # id(node) -> its value, the size it expands to, its height
        self._deepest = 0  # the deepest level reached inside the node being built
        self._building: set[int] = set()  # a node met again while still being built contains itself

    def build(self, node: yaml.Node, where: Path_) -> Any:
        self.marks[where] = _line_col(node)
        if id(node) in self._built:
            value, size, height = self._built[id(node)]
            self._grow(size, node)
            self._descend(where, height, node)  # an alias's shared value still adds its depth here
            return value
        if id(node) in self._building:
            raise self._error(node, "recursive alias: the node contains itself")
        self._building.add(id(node))
        size_before = self.size
        deepest_before, self._deepest = self._deepest, 0
        self._descend(where, 0, node)
        self._grow(1, node)
        if isinstance(node, yaml.MappingNode):
            value: Any = self._mapping(node, where)
        elif isinstance(node, yaml.SequenceNode):
            value = [self.build(item, (*where, i)) for i, item in enumerate(node.value)]
        else:
            value = self._scalar(node, where)
        self._building.remove(id(node))
        self._built[id(node)] = (value, self.size - size_before, self._deepest - len(where))
        self._deepest = max(deepest_before, self._deepest)
        return value

    def _mapping(self, node: yaml.MappingNode, where: Path_) -> dict:
        # Only the node's own keys can be duplicates; they win over merged (<<) ones, as in safe_load.
        merged: dict[Any, Any] = {}
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                for source in self._merge_sources(value_node):
                    merged.update(self.build(source, (*where, "<merge>")))
                continue
            if key_node.tag == VALUE_TAG:  # a bare `=` key, a plain string to safe_load (flatten_mapping)
                key_node.tag = "tag:yaml.org,2002:str"
            if isinstance(key_node, yaml.ScalarNode):
                key = self._scalar(key_node, where)
            else:  # `? [a]`, `{[a]: 1}`: YAML allows any node as a key, a dict does not
                kind = "set" if key_node.tag.endswith(":set") else "list" if isinstance(key_node, yaml.SequenceNode) else "dict"
                raise self._error(key_node, f"unhashable key: a {kind} cannot be a mapping key")
            if not isinstance(key, str):  # JSON's rule; code reading extra_specs or pci_alias calls str methods on keys
                raise self._error(key_node, f"a mapping key must be a string, not {_type_name(key)} {key_node.value!r} (quote it)", where)
            if key in result:
                raise self._error(key_node, f"duplicate key {key!r}")
            self.marks[(*where, key, "<key>")] = _line_col(key_node)
            result[key] = self.build(value_node, (*where, key))
        return {**merged, **result} if merged else result

    def _scalar(self, node: yaml.ScalarNode, where: Path_) -> Any:
        if node.tag == INT_TAG and len(node.value) > self.MAX_INT_CHARS:
            raise self._error(node, f"integer of more than {self.MAX_INT_CHARS} digits", where)
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._error(node, f"{node.value} is not a finite number", where)
        if not isinstance(value, (str, int, float, bool, type(None))):
            message = "only strings, numbers, booleans and null (quote it to make it a string)"
            raise self._error(node, f"{_type_name(value)} is not allowed here: {message}", where)
        return value

    @staticmethod
    def _merge_sources(node: yaml.Node) -> list[yaml.MappingNode]:
        """`<<: *a` or `<<: [*a, *b]`, in the order to apply them: of several, the first one wins."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(None, None, "expected a mapping or list of mappings for merging", source.start_mark)
        return sources[::-1]

    def _descend(self, where: Path_, height: int, node: yaml.Node) -> None:
        depth = len(where) + height
        self._deepest = max(self._deepest, depth)
        if depth > self.MAX_DEPTH:
            shown = where[: self.MAX_DEPTH // 8]  # where it starts; the line and column say where it ends
            raise self._error(node, f"nested more than {self.MAX_DEPTH} levels deep (the limit for any value)", shown)

    def _grow(self, count: int, node: yaml.Node) -> None:
        self.size += count
        if self.size > self.MAX_VALUES:
            raise self._error(node, f"the document expands to more than {self.MAX_VALUES:,} values (aliases of aliases?)")

    def _error(self, node: yaml.Node, message: str, where: Path_ = ()) -> InventoryError:
        line, col = _line_col(node)
        subject = _dotted(tuple(p for p in where if p != "<merge>"))
        return InventoryError(f"{self.path}:{line}:{col}: {subject + ': ' if subject else ''}{message}")


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", type(None): "null", bytes: "binary", dt.date: "a date"}
    return names.get(type(value), "a timestamp" if isinstance(value, dt.datetime) else f"a {type(value).__name__}")


def _line_col(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _position(marks: dict, where: Path_) -> tuple[int, int]:
    while where and where not in marks:
        where = where[:-1]
    return marks.get(where, (1, 1))


def _located(path: str, marks: dict, where: Path_, message: str) -> str:
    line, col = _position(marks, where)
    return f"{path}:{line}:{col}: {message}"


def _dotted(where: Path_) -> str:
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):  # a key with spaces, quotes or control characters: quoted, one line
            text += f"[{_quoted(part, 40)}]"
        else:
            text += f".{part}" if text else part
    return text


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_:./<>-]{1,80}")
_NAMEABLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,40}")


def _error_path(error: jsonschema.ValidationError) -> Path_:
    where = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            return (*where, extra[0], "<key>")
    return where


def _describe(error: jsonschema.ValidationError) -> str:
    where = tuple(p for p in _error_path(error) if p != "<key>")
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        if _NAMEABLE_KEY.fullmatch(where[-1]):
            return f"unknown key {_dotted(where)!r} (allowed here: {allowed})"
        # A key that is no identifier is not quoted: a file given by mistake (-i /etc/shadow) parses as
        # one mapping whose key is its first line. The position says where it is.
        return f"unknown key{' in ' + _dotted(where[:-1]) if where[:-1] else ''} (allowed here: {allowed})"
    if not where and error.validator == "type":
        # Not quoted: a file given by mistake (-i /etc/shadow) is one scalar, and its first line a secret.
        return f"inventory: expected a mapping (hosts:, flavors:, ...), got {type(error.instance).__name__}"
    subject = _dotted(where) or "inventory"
    if error.validator == "pattern":
        return f"{subject}: {_quoted(error.instance)} is not {_PATTERN_WORDS.get(error.validator_value, 'valid')}"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"{subject}: expected {wanted}, got {type(error.instance).__name__} {_quoted(error.instance)}"
    message = error.message
    if isinstance(error.instance, (str, list, dict)):  # jsonschema quotes the whole value ("'xxx...' is too long")
        message = message.replace(repr(error.instance), _quoted(error.instance))
    return f"{subject}: {message}"


def _quoted(value: Any, limit: int = 80) -> str:
    """repr(value), cut to `limit` characters: an error line stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


# -- building the models -------------------------------------------------------------------------

_HOST_FIELDS = {f.name for f in fields(HostConfig)}


def _host(raw: dict, defaults: dict, source_dir: Path, marks: dict, path: str, index: int) -> HostConfig:
    values = {**defaults, **raw}
    driver = values.get("driver", "libvirt")
    if "transport" not in values:
        values["transport"] = "ssh" if values.get("address") else "local"
    if driver == "libvirt" and values["transport"] == "ssh" and not values.get("address"):
        raise InventoryError(_located(path, marks, ("hosts", index), f"host {raw['name']!r} needs an address"))
    values.setdefault("address", "localhost" if values["transport"] == "local" else "")
    for key in ("ssh_key", "known_hosts"):
        if values.get(key):
            values[key] = str(source_dir / Path(values[key]).expanduser())
    return HostConfig(**{k: v for k, v in values.items() if k in _HOST_FIELDS})


def _flavor(raw: dict) -> Flavor:
    values = dict(raw)
    values["id"] = str(values.get("id", raw["name"]))
    values["extra_specs"] = {k: str(v) for k, v in raw.get("extra_specs", {}).items()}
    return Flavor(**values)


def _image(raw: dict) -> Image:
    return Image(**raw)


def _network(raw: dict, marks: dict, path: str, index: int) -> Network:
    values = dict(raw)
    if not raw.get("bridge") and not raw.get("libvirt_network"):
        raise InventoryError(_located(path, marks, ("networks", index), f"network {raw['name']!r} needs a bridge or a libvirt_network"))
    if raw.get("libvirt_network") and raw.get("physical_interface"):
        message = f"network {raw['name']!r}: a libvirt_network is NATed by libvirt; physical_interface is for a bridge"
        raise InventoryError(_located(path, marks, ("networks", index, "physical_interface"), message))
    if "cidr" in raw:
        from novactl.ipam import subnet_problem

        problem = subnet_problem(raw)
        if problem:
            raise InventoryError(_located(path, marks, ("networks", index), f"network {raw['name']!r}: {problem}"))
    elif any(key in raw for key in ("gateway_ip", "allocation_pools", "dns_nameservers", "ipam_host")):
        raise InventoryError(_located(path, marks, ("networks", index), f"network {raw['name']!r}: subnet fields need a cidr"))
    values["dns_nameservers"] = tuple(raw.get("dns_nameservers", ()))
    values["allocation_pools"] = tuple(raw.get("allocation_pools", ()))
    return Network(**values)


def _keypair(raw: dict, source_dir: Path, marks: dict, path: str, index: int) -> Keypair:
    key_type = raw["public_key"].split()[0]
    if blob_type(raw["public_key"]) != key_type:
        message = f"keypairs[{index}].public_key: the key data is not a {key_type} key"
        raise InventoryError(_located(path, marks, ("keypairs", index, "public_key"), message))
    values = dict(raw)
    if values.get("private_key"):
        values["private_key"] = str(source_dir / Path(values["private_key"]).expanduser())
    return Keypair(**values)


def _check_unique(data: dict, marks: dict, path: str) -> None:
    for section in ("hosts", "flavors", "images", "networks", "server_groups", "keypairs"):
        for key in ("name", "id"):
            seen: dict[Any, int] = {}
            for i, item in enumerate(data.get(section, [])):
                if section == "flavors" and key == "id":
                    value = str(item.get("id", item["name"]))  # an id defaults to the name (see _flavor)
                elif key in item:
                    value = str(item[key])
                else:
                    continue
                if value in seen:
                    first = _position(marks, (section, seen[value], key))[0]
                    raise InventoryError(
                        _located(path, marks, (section, i, key), f"duplicate {section[:-1]} {key} {value!r} (first at line {first})")
                    )
                seen[value] = i


def _check_scheduler(data: dict, marks: dict, path: str) -> None:
    """Filter and weigher names must be registered: a typo fails at load, with its line, not at boot."""
    scheduler = data.get("scheduler", {})
    if "filters" not in scheduler and "weighers" not in scheduler:
        return  # the defaults (models.py) are registered names
    # Imported here: the registries import every filter and weigher, which `novactl --help` need not pay for.
    from novactl.scheduler.filters import FILTERS
    from novactl.scheduler.weights import WEIGHERS

    for key, kind, known in (("filters", "filter", FILTERS), ("weighers", "weigher", WEIGHERS)):
        for i, name in enumerate(scheduler.get(key, [])):
            if name not in known:
                message = f"unknown {kind} {name!r} (known: {', '.join(known)})"
                raise InventoryError(_located(path, marks, ("scheduler", key, i), message))


def _check_references(inventory: Inventory, data: dict, marks: dict, path: str) -> None:
    flavors = {f.name for f in inventory.flavors} | {f.id for f in inventory.flavors}
    hosts = [h.name for h in inventory.hosts]
    for n, network in enumerate(inventory.networks):
        if network.ipam_host is not None and network.ipam_host not in hosts:
            message = unknown(f"ipam_host {network.ipam_host!r} is not a host of the inventory", network.ipam_host, hosts)
            raise InventoryError(_located(path, marks, ("networks", n, "ipam_host"), message))
    for h, host in enumerate(data.get("hosts", [])):
        for i, instance in enumerate(host.get("facts", {}).get("instances", [])):
            if instance["flavor"] not in flavors:
                where = ("hosts", h, "facts", "instances", i, "flavor")
                raise InventoryError(_located(path, marks, where, f"unknown flavor {instance['flavor']!r}"))
            for network, address in instance.get("fixed_ips", {}).items():
                problem = _fixed_ip_problem(inventory, network, address)
                if problem:
                    where = ("hosts", h, "facts", "instances", i, "fixed_ips", network)
                    raise InventoryError(_located(path, marks, where, problem))


def _fixed_ip_problem(inventory: Inventory, network: str, address: str) -> str | None:
    """What is wrong with a fake instance's fixed IP: it must be an address of a network with a cidr."""
    cidr = next((n.cidr for n in inventory.networks if n.name == network), None)
    if cidr is None:
        return f"fixed_ips: {network!r} is not a network with a cidr"
    try:
        inside = ipaddress.IPv4Address(address) in ipaddress.IPv4Network(cidr)
    except ValueError:
        inside = False
    return None if inside else f"fixed_ips: {address!r} is not an address of {network} ({cidr})"
