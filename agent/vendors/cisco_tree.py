"""Cisco xAPI trees: the three wire forms (XML, terminal `*s`/`*c`/`*r` lines, JSON) flattened to one map.

Every form becomes a :class:`Tree`: a flat map from a canonical path to the leaf text,
``"Status.Network[1].IPv4.Address" -> "10.8.50.218"``.  Elements with an ``item`` attribute get
``[id]``; ghost calls (``*s Call 3 (ghost=True):``) are marked ``Status.Call[3]._ghost = "True"``.
The normaliser (agent/vendors/cisco.py) only ever reads a Tree, so the three transports are parsed
into exactly the same thing.  Anything malformed raises :class:`ProtocolError`, never another error.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator

from agent.errors import ProtocolError
from agent.i18n import register
from agent.vendors.base import localized

# What a malformed xAPI answer means in a check message (str(error) stays English for logs).
register(
    {
        "codec.tree.bad_xml": ("thiết bị đầu cuối gửi XML sai cú pháp ({error})", "the codec sent malformed XML ({error})"),
        "codec.tree.unreadable_xml": ("thiết bị đầu cuối gửi XML không đọc được ({error})", "the codec sent unreadable XML ({error})"),
        "codec.tree.bad_element": (
            "thiết bị đầu cuối gửi phần tử XML lạ {name}",
            "the codec sent an unexpected XML element {name}",
        ),
        "codec.tree.bad_item": ("thiết bị đầu cuối gửi mã mục (item) lạ {item}", "the codec sent an unexpected item id {item}"),
        "codec.tree.too_large": (
            "câu trả lời của thiết bị đầu cuối lớn hơn rất nhiều so với một trạng thái thật",
            "the codec's answer is far larger than any real status",
        ),
        "codec.tree.bad_line": ("thiết bị đầu cuối gửi dòng lạ {line}", "the codec sent an unexpected line {line}"),
        "codec.tree.bad_config_line": ("dòng cấu hình lạ {line}", "unexpected configuration line {line}"),
        "codec.tree.no_value": ("thiết bị đầu cuối gửi dòng không có giá trị {line}", "the codec sent a line without a value {line}"),
        "codec.tree.bad_path": ("đường dẫn lạ {path} trong {line}", "unexpected path {path} in {line}"),
        "codec.tree.bad_item_number": ("số thứ tự mục không đúng chỗ trong {line}", "unexpected item number in {line}"),
        "codec.tree.empty_path": ("đường dẫn rỗng trong {line}", "empty path in {line}"),
        "codec.tree.unterminated": ("chuỗi ký tự chưa đóng ngoặc kép trong {line}", "unterminated string in {line}"),
        "codec.tree.json_not_object": (
            "thiết bị đầu cuối gửi JSON không phải là một đối tượng",
            "the codec sent JSON that is not an object",
        ),
        "codec.tree.bad_json_key": ("khóa JSON lạ {name}", "unexpected JSON key {name}"),
        "codec.tree.bad_json_item": ("mục lạ trong danh sách JSON tại {path}", "unexpected JSON list item at {path}"),
        "codec.tree.bad_json_id": ("mã mục (item) lạ {item} tại {path}", "unexpected item id {item} at {path}"),
        "codec.tree.bad_json_value": ("giá trị JSON lạ tại {path}", "unexpected JSON value at {path}"),
        "codec.tree.text_outside_json": (
            "thiết bị đầu cuối gửi văn bản nằm ngoài JSON: {text}",
            "the codec sent text outside JSON: {text}",
        ),
        "codec.tree.bad_json": ("thiết bị đầu cuối gửi JSON sai cú pháp ({error})", "the codec sent malformed JSON ({error})"),
    }
)

MAX_NODES = 200_000  # a codec's whole status is ~1 000 leaves; more is garbage or an attack


class Tree(dict):
    """Flat path -> text map with item helpers.

    ``items_of`` is asked about ten times per poll; scanning ~1 000 keys each time was a third of the
    normaliser's cost, so the list items of every prefix are indexed once, on first use, and the
    index is dropped by any change to the map.
    """

    __slots__ = ("_items",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: dict[str, dict[str, str]] | None = None

    def get_text(self, path: str) -> str | None:
        return self.get(path)

    def items_of(self, prefix: str) -> dict[str, str]:
        """``{id: "prefix[id]"}`` for every item of the list at ``prefix``, in id order."""
        index = self._items
        if index is None:
            index = self._items = _cached_index(self)
        found = index.get(prefix)
        return dict(found) if found else {}

    def has_prefix(self, prefix: str) -> bool:
        return any(k == prefix or k.startswith(prefix + ".") or k.startswith(prefix + "[") for k in self)

    # Any change invalidates the item index.
    def __setitem__(self, key: Any, value: Any) -> None:
        self._items = None
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        self._items = None
        super().__delitem__(key)

    def __ior__(self, other: Any) -> "Tree":
        self._items = None
        return super().__ior__(other)

    def pop(self, *args: Any) -> Any:
        self._items = None
        return super().pop(*args)

    def popitem(self) -> Any:
        self._items = None
        return super().popitem()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._items = None
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._items = None
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self._items = None
        super().clear()


_INDEXES: dict[frozenset, dict[str, dict[str, str]]] = {}  # by key set: a codec's keys rarely change


def _cached_index(tree: dict[str, str]) -> dict[str, dict[str, str]]:
    """The item index of a tree with these exact keys (status, configuration and presets come back
    with the same keys poll after poll; comparing key sets is ~30 times cheaper than indexing)."""
    keys = frozenset(tree)
    index = _INDEXES.get(keys)
    if index is None:
        index = _index_items(tree)
        if len(_INDEXES) >= 4:  # the three trees of a poll; never grows with a device that keeps changing
            _INDEXES.clear()
        _INDEXES[keys] = index
    return index


def _index_items(tree: dict[str, str]) -> dict[str, dict[str, str]]:
    """For every ``prefix[`` in any key: the ids found there, sorted (shorter ids first, then text)."""
    raw: dict[str, dict[str, str]] = {}
    for key in tree:
        if not isinstance(key, str):
            continue
        i = key.find("[")
        while i >= 0:
            end = key.find("]", i + 1)
            if end < 0:
                break
            prefix = key[:i]
            ident = key[i + 1:end]
            found = raw.get(prefix)
            if found is None:
                found = raw[prefix] = {}
            if ident not in found:
                found[ident] = f"{prefix}[{ident}]"
            i = key.find("[", i + 1)
    return {prefix: dict(sorted(found.items(), key=lambda kv: (len(kv[0]), kv[0]))) for prefix, found in raw.items()}


# -- XML ------------------------------------------------------------------------------------------
def flatten_xml(text: str | bytes) -> Tree:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise localized(ProtocolError(f"the codec sent malformed XML ({exc})"), "codec.tree.bad_xml", error=str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise localized(ProtocolError(f"the codec sent unreadable XML ({exc})"), "codec.tree.unreadable_xml",
                        error=str(exc)) from None
    tree: dict[str, str] = {}
    _walk_xml(root, _xml_name(root), tree)
    return Tree(tree)


def _xml_name(el: ET.Element) -> str:
    name = el.tag if isinstance(el.tag, str) else ""
    if not _NAME.fullmatch(name):
        raise localized(ProtocolError(f"the codec sent an unexpected XML element {name[:40]!r}"), "codec.tree.bad_element",
                        name=repr(name[:40]))
    item = el.get("item")
    if item is not None:
        if not _IDENT.fullmatch(item):
            raise localized(ProtocolError(f"the codec sent an unexpected item id {item[:20]!r}"), "codec.tree.bad_item",
                            item=repr(item[:20]))
        name = f"{name}[{item}]"
    return name


def _walk_xml(el: ET.Element, path: str, tree: dict[str, str]) -> None:
    children = list(el)
    if el.get("ghost") == "True":
        tree[path + "._ghost"] = "True"
    for attr in ("status",):
        if el.get(attr) is not None:
            tree[f"{path}._{attr}"] = el.get(attr)
    if not children:
        if el.get("ghost") != "True":
            tree[path] = (el.text or "").strip()
        return
    if len(tree) > MAX_NODES:
        raise localized(ProtocolError("the codec's answer is far larger than any real status"), "codec.tree.too_large")
    for child in children:
        _walk_xml(child, f"{path}.{_xml_name(child)}", tree)


# -- terminal mode ----------------------------------------------------------------------------------
_PREFIX = {"*s": "Status", "*c": "Configuration", "*r": "Command"}
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*|\d+")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(?: (?:[A-Za-z_][A-Za-z0-9_.-]*|\d+))*")
_ATTR = re.compile(r"\s\((\w+)=(\w+)\):\s*$")


def flatten_terminal(text: str) -> Tree:
    """``*s``/``*c``/``*r`` lines up to ``** end`` (the OK/ERROR line is the framing's business)."""
    tree: dict[str, str] = {}
    paths = _TERMINAL_PATHS
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line == "OK" or line == "ERROR" or line.startswith("** "):
            continue
        kind = line[:2]
        if kind not in _PREFIX or len(line) < 3 or line[2] != " ":
            if kind == "*e":  # events may interleave; not ours to read
                continue
            raise localized(ProtocolError(f"the codec sent an unexpected line {line[:60]!r}"), "codec.tree.bad_line",
                            line=repr(line[:60]))
        body = line[3:]
        if kind == "*c":
            if body[:15].lower() != "xconfiguration ":
                raise localized(ProtocolError(f"unexpected configuration line {line[:60]!r}"), "codec.tree.bad_config_line",
                                line=repr(line[:60]))
            body = body[15:]
        attr = _ATTR.search(body) if body.endswith("):") else None  # (line is stripped: so is body's end)
        if attr:  # "*s Call 3 (ghost=True):" / "*r CameraPresetListResult (status=OK):"
            path = _terminal_path(body[:attr.start()], kind, line)
            tree[f"{path}._{attr.group(1)}"] = attr.group(2)
            continue
        key, sep, value = body.partition(": ")
        if not sep:
            if body.endswith(":"):
                key, value = body[:-1], ""
            else:
                raise localized(ProtocolError(f"the codec sent a line without a value {line[:60]!r}"), "codec.tree.no_value",
                                line=repr(line[:60]))
        # The same few hundred keys come back every poll: convert each once (only valid ones are kept).
        path = paths.get(kind + key)
        if path is None:
            path = _terminal_path(key, kind, line)
            if len(paths) >= _CACHE_MAX:
                paths.clear()
            paths[kind + key] = path
        value = value.strip()
        tree[path] = _unquote(value, line) if value[:1] == '"' else value
        if len(tree) > MAX_NODES:
            raise localized(ProtocolError("the codec's answer is far larger than any real status"), "codec.tree.too_large")
    return Tree(tree)


_CACHE_MAX = 20_000  # converted keys remembered (a codec has ~1 500); cleared when full, never unbounded
_TERMINAL_PATHS: dict[str, str] = {}


def _terminal_path(key: str, kind: str, line: str) -> str:
    parts = [_PREFIX[kind]]
    if not _KEY.fullmatch(key):
        raise localized(ProtocolError(f"unexpected path {key[:40]!r} in {line[:60]!r}"), "codec.tree.bad_path",
                        path=repr(key[:40]), line=repr(line[:60]))
    for token in key.split(" "):
        if token.isdigit():
            if len(parts) == 1 or parts[-1].endswith("]"):
                raise localized(ProtocolError(f"unexpected item number in {line[:60]!r}"), "codec.tree.bad_item_number",
                                line=repr(line[:60]))
            parts[-1] = f"{parts[-1]}[{token}]"
        else:
            parts.append(token)
    if len(parts) == 1:
        raise localized(ProtocolError(f"empty path in {line[:60]!r}"), "codec.tree.empty_path", line=repr(line[:60]))
    return ".".join(parts)


def _unquote(value: str, line: str) -> str:
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"') or value.endswith('\\"') and not value.endswith('\\\\"'):
            raise localized(ProtocolError(f"unterminated string in {line[:60]!r}"), "codec.tree.unterminated",
                            line=repr(line[:60]))
        inner = value[1:-1]
        return re.sub(r'\\(.)', r"\1", inner) if "\\" in inner else inner
    return value


# -- JSON mode --------------------------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_IDENT = re.compile(r"[0-9A-Za-z_-]{1,20}")
_GOOD_NAMES: set[str] = set()  # names and item ids already validated (bounded like _TERMINAL_PATHS)
_GOOD_IDENTS: set[str] = set()


def flatten_json(obj: Any) -> Tree:
    if not isinstance(obj, dict):
        raise localized(ProtocolError("the codec sent JSON that is not an object"), "codec.tree.json_not_object")
    tree: dict[str, str] = {}
    for key, value in obj.items():
        if key == "ResultId":
            continue
        if key == "CommandResponse":
            key = "Command"
        _walk_json(value, _json_key(key), tree)
    return Tree(tree)


def _json_key(key: Any) -> str:
    if key in _GOOD_NAMES:
        return key
    if not isinstance(key, str) or not _NAME.fullmatch(key):
        raise localized(ProtocolError(f"unexpected JSON key {str(key)[:40]!r}"), "codec.tree.bad_json_key",
                        name=repr(str(key)[:40]))
    if len(_GOOD_NAMES) >= _CACHE_MAX:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(key)
    return key


def _walk_json(value: Any, path: str, tree: dict[str, str]) -> None:
    if len(tree) > MAX_NODES:
        raise localized(ProtocolError("the codec's answer is far larger than any real status"), "codec.tree.too_large")
    if isinstance(value, dict):
        # {"Value": x} or {"Value": x, "valueSpaceRef": ...} is a leaf.
        if "Value" in value and (len(value) == 1 or len(value) == 2 and "valueSpaceRef" in value):
            leaf = value["Value"]
            tree[path] = leaf if type(leaf) is str else _scalar(leaf, path)
            return
        if value.get("ghost") in ("True", True):
            tree[path + "._ghost"] = "True"
            return
        for key, child in value.items():
            if key == "id" or key == "ghost":
                continue
            if key == "status" and not isinstance(child, (dict, list)):
                tree[f"{path}._status"] = _scalar(child, path)
                continue
            _walk_json(child, f"{path}.{_json_key(key)}", tree)
        if not value:
            tree[path] = ""
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise localized(ProtocolError(f"unexpected JSON list item at {path}"), "codec.tree.bad_json_item", path=path)
            ident = str(item.get("id", i + 1))
            if ident not in _GOOD_IDENTS:
                if not _IDENT.fullmatch(ident):
                    raise localized(ProtocolError(f"unexpected item id {ident[:20]!r} at {path}"), "codec.tree.bad_json_id",
                                    item=repr(ident[:20]), path=path)
                if len(_GOOD_IDENTS) >= _CACHE_MAX:
                    _GOOD_IDENTS.clear()
                _GOOD_IDENTS.add(ident)
            _walk_json(item, f"{path}[{ident}]", tree)
        return
    tree[path] = value if type(value) is str else _scalar(value, path)


def _scalar(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    raise localized(ProtocolError(f"unexpected JSON value at {path}"), "codec.tree.bad_json_value", path=path)


def decode_json_stream(buffer: str) -> Iterator[tuple[Any, int]]:
    """Complete JSON objects at the start of ``buffer`` (skipping non-JSON lines such as "OK")."""
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        start = buffer.find("{", pos)
        if start < 0:
            return
        junk = buffer[pos:start].strip()
        if junk and any(line.strip() not in ("", "OK", "ERROR") for line in junk.splitlines()):
            raise localized(ProtocolError(f"the codec sent text outside JSON: {junk[:60]!r}"), "codec.tree.text_outside_json",
                            text=repr(junk[:60]))
        try:
            obj, end = decoder.raw_decode(buffer, start)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(buffer) - 1 or "Unterminated" in exc.msg or "Expecting" in exc.msg and exc.pos >= len(buffer.rstrip()):
                return  # incomplete: wait for more bytes
            raise localized(ProtocolError(f"the codec sent malformed JSON ({exc.msg})"), "codec.tree.bad_json",
                            error=exc.msg) from None
        yield obj, end
        pos = end
