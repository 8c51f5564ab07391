# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled ``segment._walk``: the same walk over libxml2's node structs.

``segment._walk`` walks the tree with ``etree.iterwalk``, which creates a Python proxy per
element and a new ``str`` for every ``tag``/``text``/``tail`` it reads. This walk reads the
nodes lxml wraps (``node.type``/``name``/``children``/``next``/``parent``/``content``/
``properties``) directly and creates Python objects only for what reaches the output: line
text and the class/id/role/style values of block elements. It never calls into libxml2 (lxml
links it statically), so it needs lxml's headers at build time only. The keyword families of
a block element's class/id/role are matched here too (``keyword_bits``), by the literals
``segment._keyword_alternatives`` derives from ``segment._KEYWORD_RE``.

It reproduces what ``iterwalk(root, events=("start", "end", "comment", "pi"))`` and lxml's
properties do:

- the walk visits element nodes; of a comment or processing instruction it reads only the
  tail (the text after it), where iterwalk yields it: after the text or tail before it;
- ``el.text`` is the run of text/CDATA nodes before the first other child, ``el.tail`` the run
  after the element (one ``str`` per run: ``isspace``/``strip`` apply to the whole run);
- ``len(el)``/``getnext()``/``getparent()`` count comments and PIs as elements, and
  ``el.iter("body")`` matches element nodes named ``body``;
- an attribute's value is its one text child (``""`` with none), the first attribute of a
  name wins.

Anything outside what libxml2's HTML parser builds (entity references, XInclude markers,
namespaced elements, attribute values of several nodes) makes ``walk`` return ``None``
before it changed anything, and the caller runs the Python walk instead.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, strcmp, strlen
from lxml.includes.tree cimport (
    XML_CDATA_SECTION_NODE,
    XML_COMMENT_NODE,
    XML_ELEMENT_NODE,
    XML_ENTITY_REF_NODE,
    XML_PI_NODE,
    XML_TEXT_NODE,
    XML_XINCLUDE_END,
    XML_XINCLUDE_START,
    xmlAttr,
    xmlNode,
)

cimport lxml.includes.etreepublic as cetree


# code points as plain C integers (Cython's Py_UCS4 turns into a str in arithmetic)
ctypedef unsigned int ucs4

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    int PyUnicode_KIND(object)
    void* PyUnicode_DATA(object)
    ucs4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil
    bint Py_UNICODE_ISALNUM(ucs4 ch) nogil
    bint Py_UNICODE_ISSPACE(ucs4 ch) nogil

# Bound by ``init`` to segment.py's helpers and constants (one source of truth).
cdef object _tag_info = None
cdef object _is_hidden_style = None
cdef object _split_swallowed = None
cdef int K_BLOCK = 0, K_SKIP = 0, K_BR = 0, K_LINK = 0
cdef long NOSCRIPT_BIT = 0, NOSCRIPT_SOURCE = 0
cdef int MAX_TOKENS_CHARS = 0
cdef frozenset _JSON_TEXT_KEYS = frozenset()  # segment._TEXT_KEYS (json_texts)
cdef dict _INFO_BY_NAME = {}  # tag name as UTF-8 bytes -> segment._tag_info(name)
cdef Py_ssize_t _INFO_BY_NAME_MAX = 1 << 14

# The keyword literals (``segment._keyword_alternatives``), by first letter in their order:
# ``_KW_ORDER[_KW_FIRST[c]:_KW_FIRST[c + 1]]`` are the ones starting with letter ``c``.
DEF MAX_ALTERNATIVES = 1024
cdef list _KW_LITERALS = []  # the bytes the pointers below point into
cdef const char* _KW_LIT[MAX_ALTERNATIVES]
cdef Py_ssize_t _KW_LEN[MAX_ALTERNATIVES]
cdef bint _KW_WORDS[MAX_ALTERNATIVES]
cdef long _KW_BIT[MAX_ALTERNATIVES]
cdef int _KW_ORDER[MAX_ALTERNATIVES]
cdef int _KW_FIRST[27]


# What ``init`` takes and ``walk`` returns: segment.py refuses a build whose version differs
# (a stale .so left by an editable install that was not rebuilt would misread its arguments
# or its result on every page).
API_VERSION = 5


def init(
    tag_info,
    keyword_alternatives,
    is_hidden_style,
    split_swallowed,
    int block,
    int skip,
    int br,
    int link,
    long noscript_bit,
    long noscript_source,
    int max_tokens_chars,
    json_text_keys,
) -> None:
    """Bind segment.py's helpers and constants."""
    global _tag_info, _is_hidden_style, _split_swallowed, _JSON_TEXT_KEYS
    global K_BLOCK, K_SKIP, K_BR, K_LINK, NOSCRIPT_BIT, NOSCRIPT_SOURCE, MAX_TOKENS_CHARS
    _tag_info = tag_info
    _JSON_TEXT_KEYS = frozenset(json_text_keys)
    _set_keywords(keyword_alternatives)
    _is_hidden_style = is_hidden_style
    _split_swallowed = split_swallowed
    K_BLOCK, K_SKIP, K_BR, K_LINK = block, skip, br, link
    NOSCRIPT_BIT, NOSCRIPT_SOURCE = noscript_bit, noscript_source
    MAX_TOKENS_CHARS = max_tokens_chars
    _INFO_BY_NAME.clear()


cdef void _set_keywords(alternatives) except *:
    """Index ``(literal, then_word_chars, bit)`` triples (lower-case ASCII literals, each
    starting with a letter) by first letter, keeping their order within a letter."""
    cdef int i, j = 0, letter
    literals = [a[0].encode("ascii") for a in alternatives]
    if len(literals) > MAX_ALTERNATIVES:
        raise ValueError("too many keyword alternatives")
    for literal in literals:
        if not (b"a"[0] <= literal[0] <= b"z"[0]):
            raise ValueError(f"keyword literal {literal!r} does not start with a letter")
    _KW_LITERALS[:] = literals
    for i, (literal, words, bit) in enumerate(alternatives):
        _KW_LIT[i] = <const char*>_KW_LITERALS[i]
        _KW_LEN[i] = len(_KW_LITERALS[i])
        _KW_WORDS[i] = bool(words)
        _KW_BIT[i] = bit
    for letter in range(26):
        _KW_FIRST[letter] = j
        for i in range(len(literals)):
            if literals[i][0] == 97 + letter:
                _KW_ORDER[j] = i
                j += 1
    _KW_FIRST[26] = j


cdef inline bint _az(ucs4 ch) noexcept nogil:
    return 97 <= ch <= 122


cdef long _keyword_bits(str text) except -1:
    """``segment._keyword_bits(text)``: the families of the keyword matches in ``text``.

    A match starts where a run of ``[a-z]`` starts, at or after the end of the previous
    match; there the first literal (in the regex's order) that matches and is not followed
    by ``[a-z]`` wins, or, for a literal followed by ``\\w*``, ends after the word run that
    follows it. Whitespace ends a word run: the reference matches each whitespace-separated
    name on its own."""
    cdef Py_ssize_t n = len(text), i, j, k, m, p, end = 0
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    cdef ucs4 ch
    cdef bint prev_az = False
    cdef long bits = 0
    cdef int a
    cdef const char* lit
    for i in range(n):
        ch = PyUnicode_READ(kind, data, i)
        if not _az(ch):
            prev_az = False
            continue
        if prev_az or i < end:
            prev_az = True
            continue
        prev_az = True
        for j in range(_KW_FIRST[ch - 97], _KW_FIRST[ch - 96]):
            a = _KW_ORDER[j]
            m = _KW_LEN[a]
            if i + m > n:
                continue
            lit = _KW_LIT[a]
            k = 1
            while k < m and PyUnicode_READ(kind, data, i + k) == <ucs4>(<unsigned char>lit[k]):
                k += 1
            if k < m:
                continue
            p = i + m
            if _KW_WORDS[a]:
                while p < n:
                    ch = PyUnicode_READ(kind, data, p)
                    if Py_UNICODE_ISSPACE(ch) or not (ch == 95 or Py_UNICODE_ISALNUM(ch)):
                        break
                    p += 1
            elif p < n and _az(PyUnicode_READ(kind, data, p)):
                continue
            bits |= _KW_BIT[a]
            end = p
            break
    return bits


cdef tuple _attr_keywords(object cls, object id_, object role):
    """``segment._attr_keywords``: ``(attr_text, keyword bits)`` of class, id and role."""
    cdef str attr_text = " ".join([v for v in (cls, id_, role) if v]).lower()
    return attr_text, _keyword_bits(attr_text) if attr_text else 0


def keyword_bits(str text not None) -> int:
    """``segment._keyword_bits`` by the compiled matcher (for tests)."""
    return _keyword_bits(text)


def attr_keywords(cls, id_, role) -> tuple:
    """``segment._attr_keywords`` by the compiled matcher (for tests)."""
    return _attr_keywords(cls, id_, role)


class _Bail(Exception):
    """The tree holds a node this walk does not mirror: use the Python walk."""


cdef inline bint _is_element(xmlNode* c) noexcept nogil:
    # lxml's _isElement: what len(el), getnext() and getparent() count
    return (
        c.type == XML_ELEMENT_NODE
        or c.type == XML_COMMENT_NODE
        or c.type == XML_ENTITY_REF_NODE
        or c.type == XML_PI_NODE
    )


cdef inline object _decode(const char* s, Py_ssize_t n):
    return PyUnicode_DecodeUTF8(s, n, NULL)


cdef object _run(xmlNode* c, const char** ptr, Py_ssize_t* size):
    """The text run starting at ``c`` (lxml's ``_collectText``): ``ptr``/``size`` point at its
    UTF-8 bytes (``size`` -1: no text node at all). Returns the bytes object that holds a run
    of several nodes (None otherwise), which must outlive ``ptr``."""
    cdef xmlNode* first = NULL
    cdef xmlNode* n = c
    cdef int count = 0
    while n is not NULL:
        if n.type == XML_TEXT_NODE or n.type == XML_CDATA_SECTION_NODE:
            if first is NULL:
                first = n
            count += 1
        elif n.type == XML_XINCLUDE_START or n.type == XML_XINCLUDE_END:
            raise _Bail()
        else:
            break
        n = n.next
    if count == 0:
        ptr[0] = NULL
        size[0] = -1
        return None
    if count == 1:
        if first.content is NULL:
            ptr[0] = NULL
            size[0] = 0
        else:
            ptr[0] = <const char*>first.content
            size[0] = strlen(ptr[0])
        return None
    cdef list parts = []
    n = first
    while count:
        if n.type == XML_TEXT_NODE or n.type == XML_CDATA_SECTION_NODE:
            count -= 1
            if n.content is not NULL:
                parts.append(<bytes>(<const char*>n.content))
        n = n.next
    joined = b"".join(parts)
    ptr[0] = PyBytes_AS_STRING(joined)
    size[0] = PyBytes_GET_SIZE(joined)
    return joined


# ---- the current line's text, as UTF-8 bytes in a C buffer
#
# What the Python walk keeps as a list of ``str`` pieces and turns into a line with
# ``" ".join("".join(buf).split())``: here the pieces' bytes are appended as libxml2 holds
# them and the line is made by one whitespace-collapsing copy and one decode, with no
# ``str`` per piece or per word. Whitespace is what ``str.isspace``/``split``/``strip``
# take: ``_space_len``.

cdef struct _LineBuf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int _reserve(_LineBuf* lb, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap = lb.cap
    cdef char* grown
    if lb.size + extra <= cap:
        return 0
    while cap < lb.size + extra:
        cap = cap * 2 if cap else 4096
    grown = <char*>realloc(lb.data, cap)
    if grown is NULL:
        raise MemoryError()
    lb.data = grown
    lb.cap = cap
    return 0


cdef inline int _space_len(const unsigned char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Bytes of the whitespace character at ``s[i]`` (UTF-8), 0 if it is none: ASCII
    9-13, 28-32; U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
    U+3000 - the characters ``str.isspace`` holds true."""
    cdef unsigned char b = s[i], b1, b2
    if b < 0x80:
        return 1 if (b == 32 or (9 <= b <= 13) or (28 <= b <= 31)) else 0
    if b == 0xC2:
        if i + 1 < n and (s[i + 1] == 0x85 or s[i + 1] == 0xA0):
            return 2
        return 0
    if b < 0xE1 or b > 0xE3 or i + 2 >= n:
        return 0
    b1, b2 = s[i + 1], s[i + 2]
    if b == 0xE1:
        return 3 if (b1 == 0x9A and b2 == 0x80) else 0
    if b == 0xE3:
        return 3 if (b1 == 0x80 and b2 == 0x80) else 0
    if b1 == 0x80:  # 0xE2
        return 3 if (b2 <= 0x8A or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF) and b2 >= 0x80 else 0
    if b1 == 0x81:
        return 3 if b2 == 0x9F else 0
    return 0


cdef inline Py_ssize_t _without_trailing_space(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """``n`` less the bytes of the whitespace characters (``_space_len``) that end ``s[:n]``
    (UTF-8: a character of 2 or 3 bytes, such as U+00A0, is read from its first byte)."""
    cdef Py_ssize_t k
    while n:
        k = n - 1
        while k > 0 and n - k < 3 and (s[k] & 0xC0) == 0x80:  # a continuation byte
            k -= 1
        if _space_len(s, k, n) != n - k:
            break
        n = k
    return n


cdef inline Py_ssize_t _char_len(unsigned char b) noexcept nogil:
    """Bytes of the UTF-8 character led by ``b`` (1 for a stray continuation byte: the
    decode rejects it later, as the Python walk's would)."""
    if b < 0xC0:
        return 1
    if b < 0xE0:
        return 2
    if b < 0xF0:
        return 3
    return 4


cdef Py_ssize_t _judge_piece(
    const unsigned char* s, Py_ssize_t size, bint line_empty, long link_depth
) noexcept nogil:
    """How a text run of ``size`` bytes joins the line, as the Python walk appends it: -1
    when it would start the line (``line_empty``) and is all whitespace (dropped); else what
    it adds to the link chars (inside a link): its characters without leading and trailing
    whitespace."""
    cdef Py_ssize_t i = 0, first = -1, last_end = 0, k, chars = 0
    if not (line_empty or link_depth):  # nothing to find out: the bytes go in as they are
        return 0
    while i < size:
        k = _space_len(s, i, size)
        if k:
            i += k
            continue
        if first < 0:
            first = i
            if not link_depth:  # only whether the piece is all whitespace
                break
        i += _char_len(s[i])
        last_end = i
    if first < 0:
        return -1 if line_empty else 0
    if not link_depth:
        return 0
    if last_end > size:
        last_end = size
    for i in range(first, last_end):
        if (s[i] & 0xC0) != 0x80:
            chars += 1
    return chars


cdef long _add_piece(_LineBuf* lb, const char* ptr, Py_ssize_t size, long link_depth) except -1:
    """Append one text run (``size`` > 0 bytes) to the line unless ``_judge_piece`` drops
    it; returns what it adds to the link chars."""
    cdef Py_ssize_t chars = _judge_piece(
        <const unsigned char*>ptr, size, lb.size == 0, link_depth
    )
    if chars < 0:
        return 0
    _reserve(lb, size)
    memcpy(lb.data + lb.size, ptr, size)
    lb.size += size
    return chars


cdef inline long _append_run(xmlNode* c, _LineBuf* lb, long link_depth) except -1:
    """``_walk``'s handling of a ``text``/``tail``: append the text run at ``c`` to the line
    (``_add_piece``); returns the chars it adds to ``link``."""
    cdef const char* ptr
    cdef Py_ssize_t size
    keep = _run(c, &ptr, &size)
    if size > 0:
        return _add_piece(lb, ptr, size, link_depth)
    return 0


cdef object _line_text(_LineBuf* lb):
    """The line: its whitespace runs collapsed to one space, none at either end (in place,
    then decoded); empties the buffer."""
    cdef unsigned char* s = <unsigned char*>lb.data
    cdef Py_ssize_t n = lb.size, i = 0, out = 0, k, m
    cdef bint gap = False
    while i < n:
        k = _space_len(s, i, n)
        if k:
            gap = True
            i += k
            continue
        if gap and out:
            s[out] = 32
            out += 1
        gap = False
        m = _char_len(s[i])
        if i + m > n:
            m = n - i
        while m:
            s[out] = s[i]
            out += 1
            i += 1
            m -= 1
    lb.size = 0
    return _decode(lb.data, out)


cdef object _text_of(xmlNode* c):
    """``el.text``/``el.tail`` as lxml returns it: None, "" or the run's text."""
    cdef const char* ptr
    cdef Py_ssize_t size
    keep = _run(c, &ptr, &size)
    if size < 0:
        return None
    return _decode(ptr, size)


cdef bint _has_element_child(xmlNode* c) noexcept:
    cdef xmlNode* n = c.children
    while n is not NULL:
        if _is_element(n):
            return True
        n = n.next
    return False


cdef inline xmlNode* _next_below(xmlNode* n, xmlNode* top, bint descend) noexcept nogil:
    """The node after ``n`` in document order among the descendants of ``top`` (NULL past
    the last), entering ``n``'s children when ``descend``."""
    if descend and n.children is not NULL:
        return n.children
    while n is not top and n.next is NULL:
        n = n.parent
    if n is top:
        return NULL
    return n.next


cdef bint _holds_body(xmlNode* top) except -1:
    """``segment._holds_body``: an element child, and an element named body below."""
    cdef xmlNode* n
    if not _has_element_child(top):
        return False
    n = top.children
    while n is not NULL:
        if n.type == XML_ENTITY_REF_NODE or n.type == XML_XINCLUDE_START:
            raise _Bail()
        if n.type == XML_ELEMENT_NODE:
            if n.ns is not NULL:
                raise _Bail()
            if strcmp(<const char*>n.name, "body") == 0:
                return True
        n = _next_below(n, top, n.type == XML_ELEMENT_NODE)
    return False


cdef object _swallowed(xmlNode* c, str page_end):
    """``segment._swallowed_rest``: the structural checks here, the text ones in Python."""
    cdef xmlNode* n
    cdef xmlNode* s
    if not page_end or _has_element_child(c):
        return None
    n = c
    while n is not NULL:
        s = n.next
        while s is not NULL and not _is_element(s):
            s = s.next
        if s is not NULL:
            return None
        n = n.parent
        if n is not NULL and not _is_element(n):
            n = NULL
    return _split_swallowed(_text_of(c.children), page_end)


cdef tuple _info(xmlNode* c):
    """``segment._tag_info(el.tag)``, cached by the tag's bytes."""
    if c.ns is not NULL:
        raise _Bail()  # el.tag would be "{uri}name"
    key = <bytes>(<const char*>c.name)
    info = _INFO_BY_NAME.get(key)
    if info is None:
        info = _tag_info(_decode(<const char*>c.name, strlen(<const char*>c.name)))
        if len(_INFO_BY_NAME) < _INFO_BY_NAME_MAX:
            _INFO_BY_NAME[key] = info
    return <tuple>info


# A per-walk cache of tag infos by name address: libxml2 interns names in the document's
# dictionary, so one page repeats a few dozen addresses. (Only a hint: a miss or a clash goes
# to ``_info``, and the names do not change during a walk.)
DEF SLOTS = 256

cdef inline size_t _slot(const char* name) noexcept nogil:
    cdef size_t p = <size_t>name
    return ((p >> 3) ^ (p >> 11)) % SLOTS


cdef struct _Slot:
    const char* name
    PyObject* info


cdef inline object _attr_value(xmlAttr* a):
    """``el.get(name)`` of attribute node ``a`` (lxml: xmlGetNsProp, the text of its one
    text child, "" with none)."""
    cdef xmlNode* ch = a.children
    if ch is NULL:
        return ""
    if ch.next is not NULL or (ch.type != XML_TEXT_NODE and ch.type != XML_CDATA_SECTION_NODE):
        raise _Bail()
    if ch.content is NULL:
        return ""
    return _decode(<const char*>ch.content, strlen(<const char*>ch.content))


cdef void _note_script(xmlNode* c, list scripts) except *:
    """Append ``(kind, el.text)`` for a ``<script>`` holding JSON-LD (kind 0: its ``type``,
    lower-cased, is application/ld+json) or Next.js page state (kind 1: ``id`` is
    __NEXT_DATA__); ``segment._structured_scripts`` for one element."""
    cdef xmlAttr* a = c.properties
    type_ = id_ = None
    while a is not NULL:
        if a.ns is NULL:
            if type_ is None and strcmp(<const char*>a.name, "type") == 0:
                type_ = _attr_value(a)
            elif id_ is None and strcmp(<const char*>a.name, "id") == 0:
                id_ = _attr_value(a)
        a = a.next
    if type_ is not None and type_.lower() == "application/ld+json":
        scripts.append((0, _text_of(c.children)))
    elif id_ is not None and id_ == "__NEXT_DATA__":
        scripts.append((1, _text_of(c.children)))


cdef void _note_scripts_below(xmlNode* top, list scripts) except *:
    """``_note_script`` for the ``<script>`` elements below ``top`` (a skipped subtree, which
    ``el.iter("script")`` still visits), in document order."""
    cdef xmlNode* n = top.children
    while n is not NULL:
        if n.type == XML_ELEMENT_NODE and n.ns is NULL:
            if strcmp(<const char*>n.name, "script") == 0:
                _note_script(n, scripts)
        n = _next_below(n, top, n.type == XML_ELEMENT_NODE)


# The attributes a block element's frame reads, in the order of ``_block_frame``'s values.
_FRAME_ATTRS = ("class", "id", "role", "style", "aria-hidden", "hidden")


cdef inline int _frame_attr(const char* name) noexcept nogil:
    """The index of attribute ``name`` in ``_FRAME_ATTRS``, -1 for any other."""
    if strcmp(name, "class") == 0:
        return 0
    if strcmp(name, "id") == 0:
        return 1
    if strcmp(name, "role") == 0:
        return 2
    if strcmp(name, "style") == 0:
        return 3
    if strcmp(name, "aria-hidden") == 0:
        return 4
    if strcmp(name, "hidden") == 0:
        return 5
    return -1


cdef tuple _block_frame(
    tuple frame, tuple info, long element_index, long source, bint have_attrs, list attrs
):
    """The frame a block element opens inside ``frame``: its tag and path, its class/id/role
    keywords and tokens added to the inherited ones, hidden by its own ``hidden``,
    ``aria-hidden="true"`` or ``display:none``/``visibility:hidden`` style or by an
    ancestor's (the frame tuple is in the order of ``segment._FRAME_COLUMNS``). ``attrs``:
    the values of ``_FRAME_ATTRS`` (None: absent; the first of a name)."""
    cdef long context = frame[7] | info[3]
    hidden = frame[6]
    keywords = frame[8]
    tokens = frame[2]
    if have_attrs:
        style = attrs[3]
        if attrs[5] is not None:
            hidden = 1
        if attrs[4] is not None and attrs[4] == "true":
            hidden = 1
        elif style and _is_hidden_style(style):
            hidden = 1
        attr_text, bits = _attr_keywords(attrs[0], attrs[1], attrs[2])
        if attr_text:
            keywords |= bits
            tokens = (attr_text + " " + tokens)[:MAX_TOKENS_CHARS].strip()
    return (
        info[0],
        (frame[1] + ">" + info[0]) if frame[1] else info[0],
        tokens,
        frame[3] + 1,
        element_index,
        frame[4],
        hidden,
        context,
        keywords,
        NOSCRIPT_SOURCE if context & NOSCRIPT_BIT else source,
    )


def walk(
    cetree._Element root not None,
    long source,
    bint track_swallowed,
    long first_index,
    str page_end,
):
    """``(element_index, texts, link_chars, frames, swallowed, scripts)`` of the tree at
    ``root``, as ``segment._walk`` and ``segment._structured_scripts`` compute them, or None
    when the tree holds what this walk does not mirror (see the module docstring)."""
    try:
        return _walk(root._c_node, source, track_swallowed, first_index, page_end)
    except _Bail:
        return None


cdef tuple _walk(
    xmlNode* top_node, long source, bint track_swallowed, long first_index, str page_end
):
    cdef _Slot slots[SLOTS]
    cdef size_t h
    cdef _LineBuf lb
    for h in range(SLOTS):
        slots[h].name = NULL
    lb.data = NULL
    lb.size = lb.cap = 0
    try:
        return _walk_nodes(
            top_node, source, track_swallowed, first_index, page_end, slots, &lb
        )
    finally:
        free(lb.data)


cdef tuple _walk_nodes(
    xmlNode* top_node,
    long source,
    bint track_swallowed,
    long first_index,
    str page_end,
    _Slot* slots,
    _LineBuf* lb,
):
    cdef size_t h
    cdef xmlNode* node = top_node
    cdef xmlNode* n
    cdef xmlAttr* a
    cdef long element_index = first_index
    cdef long link = 0
    cdef long link_depth = 0
    cdef int kind
    cdef bint skip
    cdef bint done = False
    cdef int k
    cdef tuple info
    cdef tuple frame
    cdef tuple top
    cdef list stack = []
    cdef list out_text = []
    cdef list out_link = []
    cdef list out_frame = []
    cdef list rests = []
    cdef list scripts = []  # (kind, text) of the structured-data scripts, in document order
    cdef list keep = []  # owners of the tag infos the slots point to
    cdef object own
    cdef const char* own_ptr
    cdef Py_ssize_t own_size
    top = ("body", "", "", 0, first_index, first_index, 0, 0, 0, source)
    frame = top

    while True:
        # ---- the element's start, then its first child, or its end
        if node.type != XML_ELEMENT_NODE:
            raise _Bail()  # an entity reference: iterwalk yields it, its tag is a function
        h = _slot(<const char*>node.name)
        if slots[h].name == <const char*>node.name:
            info = <tuple>slots[h].info
        else:
            info = _info(node)
            keep.append(info)
            slots[h].name = <const char*>node.name
            slots[h].info = <PyObject*>info
        kind = info[1]
        element_index += 1
        skip = False
        own = None
        if info[2] and track_swallowed:  # a raw-text element
            split = _swallowed(node, page_end)
            if split is not None:
                own, rest = split
                rests.append(rest)
        if kind == K_SKIP:
            if strcmp(<const char*>node.name, "script") == 0:
                _note_script(node, scripts)
            if not _holds_body(node):
                skip = True
                _note_scripts_below(node, scripts)
        else:
            if kind == K_BLOCK:
                if lb.size:
                    _flush(lb, link, frame, out_text, out_link, out_frame)
                    link = 0
                a = node.properties
                attrs = [None, None, None, None, None, None]  # _FRAME_ATTRS' values
                while a is not NULL:
                    if a.ns is NULL:
                        k = _frame_attr(<const char*>a.name)
                        if k >= 0 and attrs[k] is None:
                            # (_attr_value bails on a value lxml would read differently)
                            attrs[k] = _attr_value(a)
                    a = a.next
                stack.append(frame)
                frame = _block_frame(
                    frame, info, element_index, source, node.properties is not NULL, attrs
                )
            elif kind == K_BR:
                if lb.size:
                    _flush(lb, link, frame, out_text, out_link, out_frame)
                    link = 0
            elif kind == K_LINK:
                link_depth += 1
        if not skip:
            # the element's text (or what an unclosed raw-text element holds of its own); a
            # skipped element that holds <body> is walked, its own text too
            if own is not None:
                if own:
                    own_ptr = PyUnicode_AsUTF8AndSize(own, &own_size)
                    link += _add_piece(lb, own_ptr, own_size, link_depth)
            else:
                link += _append_run(node.children, lb, link_depth)

        # ---- descend to the first element child, past comments and PIs (with their tails)
        n = NULL
        if not skip:
            n = node.children
            while n is not NULL and n.type != XML_ELEMENT_NODE:
                if n.type == XML_COMMENT_NODE or n.type == XML_PI_NODE:
                    link += _append_run(n.next, lb, link_depth)
                elif n.type == XML_ENTITY_REF_NODE:
                    raise _Bail()
                n = n.next
        if n is not NULL:
            node = n
            continue

        # ---- end events up through the ancestors until one has a next element sibling
        while True:
            info = _info_cached(node, slots)
            kind = info[1]
            if kind == K_BLOCK:
                if lb.size:
                    _flush(lb, link, frame, out_text, out_link, out_frame)
                    link = 0
                frame = <tuple>stack.pop()
            elif kind == K_LINK and link_depth:
                link_depth -= 1
            # the tail: the text run after the element
            link += _append_run(node.next, lb, link_depth)
            if node is top_node:
                done = True
                break
            # on to the next element sibling, past comments and PIs (with their tails)
            n = node.next
            while n is not NULL and n.type != XML_ELEMENT_NODE:
                if n.type == XML_COMMENT_NODE or n.type == XML_PI_NODE:
                    link += _append_run(n.next, lb, link_depth)
                elif n.type == XML_ENTITY_REF_NODE:
                    raise _Bail()
                n = n.next
            if n is not NULL:
                break
            node = node.parent
        if done:
            break
        node = n

    if lb.size:
        _flush(lb, link, top, out_text, out_link, out_frame)
    return element_index, out_text, out_link, out_frame, rests, scripts


cdef inline tuple _info_cached(xmlNode* node, _Slot* slots):
    cdef size_t h = _slot(<const char*>node.name)
    if slots[h].name == <const char*>node.name:
        return <tuple>slots[h].info
    return _info(node)


cdef inline void _flush(
    _LineBuf* lb, long link, tuple frame, list out_text, list out_link, list out_frame
) except *:
    text = _line_text(lb)
    if text:
        out_text.append(text)
        out_link.append(min(link, len(text)))
        out_frame.append(frame)


# ---- the same walk driven by libxml2's SAX events, without a tree
#
# ``sax_walk`` parses the page's UTF-8 bytes with libxml2's HTML parser (the one lxml is built
# with: its functions are looked up in lxml's own extension module, which exports them) and
# consumes the parser's events directly: no nodes are made, none are freed, and the walk is
# the event stream itself. The events of libxml2's HTML parser are what its tree builder
# (SAX2) turns into lxml's tree, so the lines are those of ``walk`` over that tree:
#
# - text comes in ``characters`` (and ``cdataBlock`` for raw text) calls, possibly several
#   for one text node: a *run* (what ``_run`` reads: the text between two other events) is
#   collected in the line buffer and judged as one piece when the next event comes;
# - the parser keeps all whitespace (``ignorableWhitespace`` is given ``characters``, as
#   libxml2's header asks);
# - a skipped element's subtree is consumed without effect, except its ``<script>``s.
#
# What it cannot see without a tree makes it give up (None: the caller parses a tree and
# walks it): a ``<body>`` inside a skipped element (``_holds_body``), a raw-text element whose
# text ends like the page (``_swallowed``'s text checks: perhaps unclosed), a second top-level
# element, nesting deeper than ``MAX_SAX_DEPTH`` (libxml2's limit is checked on the tree
# path), and lxml's libxml2 functions not being found.

from lxml.includes.xmlparser cimport xmlParserCtxt
from libc.string cimport memset

# The callbacks' types as libxml2 declares them (xmlChar is unsigned char), but called with
# the GIL held: the parse runs under it, so the callbacks touch Python objects directly.
ctypedef void (*_StartFunc)(void*, const unsigned char*, const unsigned char**) noexcept
ctypedef void (*_EndFunc)(void*, const unsigned char*) noexcept
ctypedef void (*_TextFunc)(void*, const unsigned char*, int) noexcept
ctypedef void (*_PIFunc)(void*, const unsigned char*, const unsigned char*) noexcept

cdef extern from "libxml/parser.h":
    # only the members set here (the C compiler sees libxml2's full declaration)
    ctypedef struct _SAXHandler "xmlSAXHandler":
        _StartFunc startElement
        _EndFunc endElement
        _TextFunc characters
        _TextFunc ignorableWhitespace
        _TextFunc cdataBlock
        _PIFunc processingInstruction
        _EndFunc comment
        unsigned int initialized

cdef extern from *:
    """
    /* dlopen/dlsym where there are (POSIX); elsewhere none: the event walk is then off and
       the tree walk runs (the rest of this module builds and works the same). */
    #if defined(_WIN32)
    static void* linesift_dlopen(const char* f, int flags) { (void)f; (void)flags; return 0; }
    static void* linesift_dlsym(void* h, const char* s) { (void)h; (void)s; return 0; }
    #define LINESIFT_RTLD_NOW 0
    #define LINESIFT_RTLD_NOLOAD 0
    #else
    #include <dlfcn.h>
    #define linesift_dlopen dlopen
    #define linesift_dlsym dlsym
    #define LINESIFT_RTLD_NOW RTLD_NOW
    #define LINESIFT_RTLD_NOLOAD RTLD_NOLOAD
    #endif
    """
    void* dlopen "linesift_dlopen" (const char* filename, int flags) nogil
    void* dlsym "linesift_dlsym" (void* handle, const char* symbol) nogil
    int RTLD_NOW "LINESIFT_RTLD_NOW"
    int RTLD_NOLOAD "LINESIFT_RTLD_NOLOAD"

ctypedef xmlParserCtxt* (*_NewCtxtFunc)(const _SAXHandler* sax, void* user_data) noexcept nogil
ctypedef void* (*_ReadMemoryFunc)(
    xmlParserCtxt* ctxt, const char* buf, int size, const char* url, const char* enc, int opts
) noexcept nogil
ctypedef void (*_CtxtFunc)(xmlParserCtxt* ctxt) noexcept nogil
ctypedef void (*_DocFunc)(void* doc) noexcept nogil

cdef _NewCtxtFunc _html_new_ctxt = NULL
cdef _ReadMemoryFunc _html_read_memory = NULL
cdef _CtxtFunc _html_free_ctxt = NULL
cdef _CtxtFunc _stop_parser = NULL
cdef _DocFunc _free_doc = NULL
cdef _SAXHandler _HANDLER

# libxml2's htmlParserOption bits, as ``segment._parse``'s HTMLParser(huge_tree=True) sets
# them, errors and warnings not reported (nothing reads them on this path)
DEF HTML_PARSE_RECOVER = 1
DEF HTML_PARSE_NOERROR = 1 << 5
DEF HTML_PARSE_NOWARNING = 1 << 6
DEF HTML_PARSE_NONET = 1 << 11
DEF HTML_PARSE_HUGE = 1 << 19
DEF SAX_OPTIONS = (
    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET
    | HTML_PARSE_HUGE
)
# Deeper pages go to the tree path, which knows when libxml2 stopped at its own limit.
DEF MAX_SAX_DEPTH = 1000


def bind_libxml2(str library not None) -> bool:
    """Find libxml2's HTML parser functions in ``library`` (lxml.etree's extension module,
    already loaded); False when they are not there (``sax_walk`` then always gives up)."""
    global _html_new_ctxt, _html_read_memory, _html_free_ctxt, _stop_parser, _free_doc
    cdef bytes path = library.encode()
    cdef void* handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD)
    if handle is NULL:
        return False
    new_ctxt = <_NewCtxtFunc>dlsym(handle, "htmlNewSAXParserCtxt")
    read_memory = <_ReadMemoryFunc>dlsym(handle, "htmlCtxtReadMemory")
    free_ctxt = <_CtxtFunc>dlsym(handle, "htmlFreeParserCtxt")
    stop_parser = <_CtxtFunc>dlsym(handle, "xmlStopParser")
    free_doc = <_DocFunc>dlsym(handle, "xmlFreeDoc")
    if (
        new_ctxt is NULL or read_memory is NULL or free_ctxt is NULL
        or stop_parser is NULL or free_doc is NULL
    ):
        return False
    _html_new_ctxt, _html_read_memory, _html_free_ctxt = new_ctxt, read_memory, free_ctxt
    _stop_parser, _free_doc = stop_parser, free_doc
    memset(&_HANDLER, 0, sizeof(_HANDLER))
    _HANDLER.startElement = _on_start
    _HANDLER.endElement = _on_end
    _HANDLER.characters = _on_text
    _HANDLER.ignorableWhitespace = _on_text
    _HANDLER.cdataBlock = _on_text
    _HANDLER.comment = _on_comment
    _HANDLER.processingInstruction = _on_pi
    _HANDLER.initialized = 1  # SAX1 callbacks (what the HTML parser calls anyway)
    return True


# Block frames by what makes them: a page repeats its blocks (list items, cards, rows),
# and a frame is the same for the same parent frame, tag and frame attributes except for
# its element index and container. ``_sax_block`` looks each block up here before
# ``_block_frame`` (its decoding, keyword matching and string building were a quarter of
# the walk). A frame's id stands for what it holds except those two: the same parent id,
# tag and attributes give the same frame, so the id is the parent's part of the key.
DEF FRAME_CACHE = 1024  # entries (a power of 2); a clash overwrites: only a miss later


cdef struct _FrameEntry:
    unsigned long long hash
    long parent_id
    const char* name  # libxml2's interned tag name (one address per name in a parse)
    char* key  # the frame attributes as ``_sax_block`` serializes them (malloc'd)
    Py_ssize_t key_len
    long frame_id
    PyObject* frame  # owned: the frame made when the entry was filled


cdef class _SaxWalk:
    """The state of one ``sax_walk``: ``_walk_nodes``'s locals, plus what the tree answered
    there (the open elements' kinds, whether a text run is open)."""

    cdef _LineBuf lb
    cdef _LineBuf capture  # the text of the open <script> or raw-text element, when kept
    cdef _Slot slots[SLOTS]
    cdef int kinds[MAX_SAX_DEPTH + 1]  # kind of each open element, -1 inside a skip
    cdef int depth
    cdef int skip_depth  # depth of the skipped element being consumed, 0 outside
    cdef int capture_depth  # depth of the element whose text ``capture`` holds, 0: none
    cdef int capture_script  # -1, or the kind of structured-data script being captured
    cdef bint capture_raw  # the captured element is raw text: check whether it swallowed
    cdef bint root_done
    cdef Py_ssize_t run_start  # where the open text run starts in ``lb``, -1: none open
    cdef long element_index, link, link_depth, source
    cdef bint track_swallowed
    cdef str page_end
    cdef unsigned char page_end_last
    cdef tuple frame, top
    cdef list stack, out_text, out_link, out_frame, scripts, keep
    cdef object error  # the exception a callback raised (_Bail: give up)
    # block frames already made (``_sax_block``): the open frames' ids (by block depth),
    # the table, the key being looked up, the last id given
    cdef long frame_ids[MAX_SAX_DEPTH + 1]
    cdef _FrameEntry frames[FRAME_CACHE]
    cdef _LineBuf frame_key
    cdef long last_frame_id

    def __cinit__(self):
        cdef size_t h
        for h in range(SLOTS):
            self.slots[h].name = NULL
        self.lb.data = NULL
        self.lb.size = self.lb.cap = 0
        self.capture.data = NULL
        self.capture.size = self.capture.cap = 0
        self.frame_key.data = NULL
        self.frame_key.size = self.frame_key.cap = 0
        memset(self.frames, 0, sizeof(self.frames))
        self.frame_ids[0] = 0  # the top frame
        self.last_frame_id = 0

    def __dealloc__(self):
        cdef size_t h
        free(self.lb.data)
        free(self.capture.data)
        free(self.frame_key.data)
        for h in range(FRAME_CACHE):
            free(self.frames[h].key)
            Py_XDECREF(self.frames[h].frame)


cdef inline _SaxWalk _state(void* ctx):
    return <_SaxWalk>(<xmlParserCtxt*>ctx)._private


cdef void _fail(void* ctx, _SaxWalk st, object exc) noexcept:
    if st.error is None:
        st.error = exc
    _stop_parser(<xmlParserCtxt*>ctx)


cdef int _close_run(_SaxWalk st) except -1:
    """The open text run ends: judged as ``_add_piece`` judges one piece (it is already in
    the line buffer, from ``run_start`` on)."""
    cdef Py_ssize_t start = st.run_start, chars
    if start < 0:
        return 0
    st.run_start = -1
    chars = _judge_piece(
        <const unsigned char*>(st.lb.data + start), st.lb.size - start, start == 0,
        st.link_depth,
    )
    if chars < 0:
        st.lb.size = 0  # whitespace that would start the line
    else:
        st.link += chars
    return 0


cdef int _append_bytes(_LineBuf* lb, const char* data, Py_ssize_t size) except -1:
    _reserve(lb, size)
    memcpy(lb.data + lb.size, data, size)
    lb.size += size
    return 0


cdef void _on_text(void* ctx, const unsigned char* ch, int size) noexcept:
    cdef _SaxWalk st = _state(ctx)
    if st.error is not None or size <= 0:
        return
    try:
        if st.capture_depth:
            _append_bytes(&st.capture, <const char*>ch, size)
        if st.skip_depth or st.depth == 0:  # libxml2's tree drops text outside elements
            return
        if st.run_start < 0:
            st.run_start = st.lb.size
        _append_bytes(&st.lb, <const char*>ch, size)
    except BaseException as exc:
        _fail(ctx, st, exc)


cdef void _on_comment(void* ctx, const unsigned char* value) noexcept:
    cdef _SaxWalk st = _state(ctx)
    if st.error is not None:
        return
    try:
        _close_run(st)
    except BaseException as exc:
        _fail(ctx, st, exc)


cdef void _on_pi(void* ctx, const unsigned char* target, const unsigned char* data) noexcept:
    _on_comment(ctx, target)


cdef inline object _sax_value(const unsigned char* value):
    if value is NULL:
        return ""
    return _decode(<const char*>value, strlen(<const char*>value))


cdef void _on_start(void* ctx, const unsigned char* name, const unsigned char** atts) noexcept:
    cdef _SaxWalk st = _state(ctx)
    if st.error is not None:
        return
    try:
        _start(st, <const char*>name, <const char**>atts)
    except BaseException as exc:
        _fail(ctx, st, exc)


cdef int _start_script(_SaxWalk st, const char** atts) except -1:
    """``_note_script`` from the start tag: capture the text of a structured-data script."""
    cdef Py_ssize_t i = 0
    type_ = id_ = None
    if atts is not NULL:
        while atts[i] is not NULL:
            if type_ is None and strcmp(atts[i], "type") == 0:
                type_ = _sax_value(<const unsigned char*>atts[i + 1])
            elif id_ is None and strcmp(atts[i], "id") == 0:
                id_ = _sax_value(<const unsigned char*>atts[i + 1])
            i += 2
    if type_ is not None and type_.lower() == "application/ld+json":
        st.capture_script = 0
    elif id_ is not None and id_ == "__NEXT_DATA__":
        st.capture_script = 1
    else:
        return 0
    st.capture_depth = st.depth
    st.capture.size = 0
    return 0


cdef int _start(_SaxWalk st, const char* name, const char** atts) except -1:
    cdef size_t h
    cdef tuple info
    cdef int kind
    _close_run(st)
    if st.root_done:
        raise _Bail()  # a second top-level element: not what ``walk`` sees from the root
    st.depth += 1
    if st.depth > MAX_SAX_DEPTH:
        raise _Bail()
    if st.skip_depth:
        st.kinds[st.depth] = -1
        if strcmp(name, "body") == 0:
            raise _Bail()  # the skipped element holds <body>: ``walk`` walks it
        if strcmp(name, "script") == 0:
            _start_script(st, atts)
        return 0
    h = _slot(name)
    if st.slots[h].name == name:
        info = <tuple>st.slots[h].info
    else:
        info = _info_by_name(name)
        st.keep.append(info)
        st.slots[h].name = name
        st.slots[h].info = <PyObject*>info
    kind = info[1]
    st.kinds[st.depth] = kind
    st.element_index += 1
    if kind == K_SKIP and strcmp(name, "script") == 0:
        _start_script(st, atts)
    if info[2] and st.track_swallowed:  # raw text: no element inside, so no capture open
        st.capture_depth = st.depth
        st.capture_raw = True
    if kind == K_SKIP:
        st.skip_depth = st.depth
        return 0
    if kind == K_BLOCK:
        _sax_block(st, info, name, atts)
    elif kind == K_BR:
        if st.lb.size:
            _flush(&st.lb, st.link, st.frame, st.out_text, st.out_link, st.out_frame)
            st.link = 0
    elif kind == K_LINK:
        st.link_depth += 1
    return 0


cdef tuple _info_by_name(const char* name):
    """``_info`` from a tag name's bytes."""
    key = <bytes>name
    info = _INFO_BY_NAME.get(key)
    if info is None:
        info = _tag_info(_decode(name, strlen(name)))
        if len(_INFO_BY_NAME) < _INFO_BY_NAME_MAX:
            _INFO_BY_NAME[key] = info
    return <tuple>info


cdef int _sax_block(_SaxWalk st, tuple info, const char* name, const char** atts) except -1:
    """A block element starts: the line so far ends, a frame opens (``_walk_nodes``). The
    frame comes from ``st.frames`` when this parent frame, tag and frame attributes made
    one before (see ``_FrameEntry``), else from ``_block_frame``."""
    cdef tuple frame = st.frame, made, cached
    cdef Py_ssize_t i = 0, depth = len(st.stack)
    cdef int k
    cdef unsigned long long h = 14695981039346656037ULL  # FNV-1a
    cdef long parent_id = st.frame_ids[depth]
    cdef _FrameEntry* entry
    cdef _LineBuf* key = &st.frame_key
    cdef const char* values[6]  # _FRAME_ATTRS' values as libxml2 gave them, NULL: absent
    cdef char index_byte
    if st.lb.size:
        _flush(&st.lb, st.link, frame, st.out_text, st.out_link, st.out_frame)
        st.link = 0
    for k in range(6):
        values[k] = NULL
    while atts is not NULL and atts[i] is not NULL:
        k = _frame_attr(atts[i])
        if k >= 0 and values[k] is NULL:  # the first of a name
            values[k] = atts[i + 1]
            if values[k] is NULL:  # an attribute without a value: ""
                values[k] = b""
        i += 2
    # the key: each frame attribute present, in _FRAME_ATTRS' order, as a byte (its index
    # + 1), its value and a NUL (values hold no NUL)
    key.size = 0
    for k in range(6):
        if values[k] is not NULL:
            index_byte = <char>(k + 1)
            _append_bytes(key, &index_byte, 1)
            _append_bytes(key, values[k], strlen(values[k]) + 1)
    for k in range(key.size):
        h = (h ^ <unsigned char>key.data[k]) * 1099511628211ULL
    h = (h ^ <unsigned long long>parent_id) * 1099511628211ULL
    h = (h ^ <unsigned long long><size_t>name) * 1099511628211ULL
    entry = &st.frames[(h ^ (h >> 29)) & (FRAME_CACHE - 1)]
    st.stack.append(frame)
    if (
        entry.frame is not NULL and entry.hash == h and entry.parent_id == parent_id
        and entry.name == name and entry.key_len == key.size
        and memcmp(entry.key, key.data, key.size) == 0
    ):
        cached = <tuple>entry.frame
        made = (
            cached[0], cached[1], cached[2], cached[3], st.element_index, frame[4],
            cached[6], cached[7], cached[8], cached[9],
        )
        st.frame_ids[depth + 1] = entry.frame_id
        st.frame = made
        return 0
    attrs = [None, None, None, None, None, None]  # _FRAME_ATTRS' values
    for k in range(6):
        if values[k] is not NULL:
            attrs[k] = _sax_value(<const unsigned char*>values[k])
    made = _block_frame(frame, info, st.element_index, st.source, i > 0, attrs)
    st.last_frame_id += 1
    st.frame_ids[depth + 1] = st.last_frame_id
    st.frame = made
    # fill the entry (a clash overwrites the older frame)
    if entry.key_len < key.size or entry.key is NULL:
        free(entry.key)
        entry.key = <char*>malloc(key.size if key.size else 1)
        if entry.key is NULL:
            Py_XDECREF(entry.frame)
            entry.frame = NULL
            raise MemoryError()
    memcpy(entry.key, key.data, key.size)
    entry.key_len = key.size
    entry.hash = h
    entry.parent_id = parent_id
    entry.name = name
    entry.frame_id = st.last_frame_id
    Py_XDECREF(entry.frame)
    Py_INCREF(made)
    entry.frame = <PyObject*>made
    return 0


cdef void _on_end(void* ctx, const unsigned char* name) noexcept:
    cdef _SaxWalk st = _state(ctx)
    if st.error is not None:
        return
    try:
        _end(st)
    except BaseException as exc:
        _fail(ctx, st, exc)


cdef int _end(_SaxWalk st) except -1:
    cdef int kind
    _close_run(st)
    if st.depth == 0:
        raise _Bail()  # an end with no start: not a tree
    if st.capture_depth == st.depth:
        _end_capture(st)
    kind = st.kinds[st.depth]
    st.depth -= 1
    if st.skip_depth:
        if st.skip_depth == st.depth + 1:
            st.skip_depth = 0  # the skipped element ends; its tail is text again
        return 0
    if kind == K_BLOCK:
        if st.lb.size:
            _flush(&st.lb, st.link, st.frame, st.out_text, st.out_link, st.out_frame)
            st.link = 0
        st.frame = <tuple>st.stack.pop()
    elif kind == K_LINK and st.link_depth:
        st.link_depth -= 1
    if st.depth == 0:
        st.root_done = True
    return 0


cdef int _end_capture(_SaxWalk st) except -1:
    """The captured element ends: a structured-data script's text is noted; a raw-text
    element whose text ends like the page may have swallowed the rest: give up."""
    cdef Py_ssize_t n = st.capture.size
    cdef const unsigned char* s = <const unsigned char*>st.capture.data
    text = None
    if st.capture_script >= 0:
        text = _decode(st.capture.data, n) if n else None  # no text node: el.text is None
        st.scripts.append((st.capture_script, text))
    if st.capture_raw and st.page_end:
        n = _without_trailing_space(s, n)
        if n and s[n - 1] == st.page_end_last:
            if text is None:
                text = _decode(st.capture.data, st.capture.size)
            if _split_swallowed(text, st.page_end) is not None:
                raise _Bail()
    st.capture_depth = 0
    st.capture_script = -1
    st.capture_raw = False
    st.capture.size = 0
    return 0


def sax_walk(
    bytes data not None,
    long source,
    bint track_swallowed,
    long first_index,
    str page_end,
):
    """``walk``'s result for the tree libxml2 would build from ``data`` (UTF-8 bytes),
    computed from the parser's events; ``False`` for a page with no element (no tree), None
    when it gives up (see above)."""
    cdef _SaxWalk st
    cdef xmlParserCtxt* ctxt
    cdef void* doc
    if _html_new_ctxt is NULL or PyBytes_GET_SIZE(data) > 0x7FFFFFFF:
        return None
    st = _SaxWalk()
    st.element_index = first_index
    st.source = source
    st.track_swallowed = track_swallowed
    st.page_end = page_end
    end_bytes = page_end.encode("utf-8", "surrogatepass")  # a filter only (_end_capture)
    st.page_end_last = end_bytes[len(end_bytes) - 1] if end_bytes else 0
    st.run_start = -1
    st.capture_script = -1
    st.top = ("body", "", "", 0, first_index, first_index, 0, 0, 0, source)
    st.frame = st.top
    st.stack, st.out_text, st.out_link, st.out_frame = [], [], [], []
    st.scripts, st.keep = [], []
    ctxt = _html_new_ctxt(&_HANDLER, NULL)
    if ctxt is NULL:
        raise MemoryError()
    ctxt._private = <void*>st
    try:
        doc = _html_read_memory(
            ctxt, PyBytes_AS_STRING(data), <int>PyBytes_GET_SIZE(data), NULL, "utf-8",
            SAX_OPTIONS,
        )
        if doc is not NULL:
            _free_doc(doc)
        if st.error is None:
            _close_run(st)
    finally:
        ctxt._private = NULL
        _html_free_ctxt(ctxt)
    if st.error is not None:
        if isinstance(st.error, _Bail):
            return None
        raise st.error
    if st.element_index == first_index and not st.root_done and st.depth == 0:
        return False
    if st.depth:
        return None  # the parser stopped with elements open: not a tree this walk mirrors
    if st.lb.size:
        _flush(&st.lb, st.link, st.top, st.out_text, st.out_link, st.out_frame)
    return st.element_index, st.out_text, st.out_link, st.out_frame, [], st.scripts


# ---- structured data: ``segment._json_texts`` compiled (~5x faster: the Python visit made a
# call per dict and list of a page state's ~10^4 values)

cdef extern from "Python.h":
    bint PyDict_Next(object d, Py_ssize_t* pos, PyObject** key, PyObject** value)
    Py_ssize_t PyUnicode_Count(object s, object sub, Py_ssize_t start, Py_ssize_t end) except -1

cdef int _json_visit(object node, int depth, bint any_long_string, list out) except -1:
    """``segment._json_texts``' ``visit``: ``node`` a dict or list at ``depth`` <= 40. (A key
    of a JSON object is a str, its membership in the frozenset the tuple's.)"""
    cdef bint deeper = depth < 40
    cdef Py_ssize_t pos = 0, n
    cdef PyObject* key
    cdef PyObject* value
    if isinstance(node, dict):
        while PyDict_Next(node, &pos, &key, &value):
            item = <object>value
            if isinstance(item, str):
                n = len(<str>item)
                if (n >= 40 and <object>key in _JSON_TEXT_KEYS) or (
                    any_long_string and n >= 200 and PyUnicode_Count(item, " ", 0, n) >= 20
                ):
                    out.append(item)
            elif deeper and isinstance(item, (dict, list)):
                _json_visit(item, depth + 1, any_long_string, out)
    elif deeper:
        for item in node:
            if isinstance(item, (dict, list)):
                _json_visit(item, depth + 1, any_long_string, out)
    return 0


def json_texts(data, bint any_long_string) -> list:
    """``segment._json_texts``: the same strings, in the same order."""
    cdef list out = []
    if isinstance(data, (dict, list)):
        _json_visit(data, 0, any_long_string, out)
    return out


# ---- the page as UTF-8 for libxml2, and ``segment._clean``'s test, in one pass

cdef extern from "Python.h":
    # a new reference, managed here by hand: _PyBytes_Resize needs the only reference
    PyObject* _new_bytes "PyBytes_FromStringAndSize" (const char* v, Py_ssize_t n)
    int _PyBytes_Resize(PyObject** b, Py_ssize_t n)
    char* _bytes_data "PyBytes_AS_STRING" (PyObject* b)
    void Py_DECREF(PyObject* o)


cdef extern from *:
    """
    /* 16 code points at a time for encode_page: if u[0:16] are all ASCII, writes them to
       out as 16 bytes and returns the bit mask of the "<" among them (bit k: u[k]); else
       returns -1 and writes nothing. SSE2 where the compiler has it (every x86-64), plain
       loops elsewhere. */
    #include <stdint.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    static inline int linesift_block16_1(const uint8_t* u, unsigned char* out) {
        __m128i v = _mm_loadu_si128((const __m128i*)u);
        if (_mm_movemask_epi8(v)) return -1;
        _mm_storeu_si128((__m128i*)out, v);
        return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
    }
    static inline int linesift_block16_2(const uint16_t* u, unsigned char* out) {
        __m128i a = _mm_loadu_si128((const __m128i*)u);
        __m128i b = _mm_loadu_si128((const __m128i*)(u + 8));
        __m128i high = _mm_and_si128(_mm_or_si128(a, b), _mm_set1_epi16((short)0xFF80));
        if (_mm_movemask_epi8(_mm_cmpeq_epi16(high, _mm_setzero_si128())) != 0xFFFF) return -1;
        __m128i v = _mm_packus_epi16(a, b);
        _mm_storeu_si128((__m128i*)out, v);
        return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
    }
    static inline int linesift_block16_4(const uint32_t* u, unsigned char* out) {
        __m128i a = _mm_loadu_si128((const __m128i*)u);
        __m128i b = _mm_loadu_si128((const __m128i*)(u + 4));
        __m128i c = _mm_loadu_si128((const __m128i*)(u + 8));
        __m128i d = _mm_loadu_si128((const __m128i*)(u + 12));
        __m128i all = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
        __m128i high = _mm_and_si128(all, _mm_set1_epi32((int)0xFFFFFF80));
        if (_mm_movemask_epi8(_mm_cmpeq_epi32(high, _mm_setzero_si128())) != 0xFFFF) return -1;
        __m128i v = _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
        _mm_storeu_si128((__m128i*)out, v);
        return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
    }
    #else
    #define LINESIFT_BLOCK16(NAME, T) \
    static inline int NAME(const T* u, unsigned char* out) { \
        uint32_t all = 0; int k, lt = 0; \
        for (k = 0; k < 16; k++) all |= u[k]; \
        if (all >= 0x80) return -1; \
        for (k = 0; k < 16; k++) { out[k] = (unsigned char)u[k]; lt |= (u[k] == '<') << k; } \
        return lt; \
    }
    LINESIFT_BLOCK16(linesift_block16_1, uint8_t)
    LINESIFT_BLOCK16(linesift_block16_2, uint16_t)
    LINESIFT_BLOCK16(linesift_block16_4, uint32_t)
    #endif
    static inline int linesift_lowest_bit(unsigned int m) {  /* m != 0 */
    #if defined(__GNUC__)
        return __builtin_ctz(m);
    #else
        int k = 0;
        while (!(m & 1u)) { m >>= 1; k++; }
        return k;
    #endif
    }
    """
    int _block16_1 "linesift_block16_1" (const unsigned char* u, unsigned char* out) noexcept nogil
    int _block16_2 "linesift_block16_2" (const unsigned short* u, unsigned char* out) noexcept nogil
    int _block16_4 "linesift_block16_4" (const unsigned int* u, unsigned char* out) noexcept nogil
    int _lowest_bit "linesift_lowest_bit" (unsigned int m) noexcept nogil


ctypedef unsigned char uchar
ctypedef unsigned short ushort

ctypedef fused _unit:
    uchar
    ushort
    unsigned int


cdef inline bint _end_html_at(const _unit* u, Py_ssize_t i, Py_ssize_t n, Py_ssize_t* end) noexcept:
    """Whether ``</html\\s*>`` matches at code point ``i`` (its "<"); ``end``: past its ">".
    Only ASCII letters fold to h, t, m, l in the regex's IGNORECASE; ``\\s`` is
    ``str.isspace``."""
    cdef Py_ssize_t j
    if i + 6 >= n or u[i + 1] != 47:  # "/"
        return False
    if (
        (u[i + 2] | 0x20) != 104 or (u[i + 3] | 0x20) != 116  # h t
        or (u[i + 4] | 0x20) != 109 or (u[i + 5] | 0x20) != 108  # m l
    ):
        return False
    j = i + 6
    while j < n and Py_UNICODE_ISSPACE(u[j]):
        j += 1
    if j < n and u[j] == 62:  # ">"
        end[0] = j + 1
        return True
    return False


cdef inline int _ascii_block(const _unit* u, unsigned char* out) noexcept:
    if _unit is uchar:
        return _block16_1(u, out)
    elif _unit is ushort:
        return _block16_2(u, out)
    else:
        return _block16_4(u, out)


cdef Py_ssize_t _encode_units(
    const _unit* u, Py_ssize_t n, unsigned char* out, Py_ssize_t* start, Py_ssize_t* end
) noexcept:
    """UTF-8 of the code points ``u[:n]`` into ``out`` (its length returned); ``start``,
    ``end``: the first ``</html\\s*>``'s code points (-1 if none).

    Runs of 16 ASCII code points (most of a page, whatever its str width) are copied 16 at
    a time (``_ascii_block``), the "<" among them tested for ``</html``; a block with any
    other code point is encoded one code point at a time."""
    cdef Py_ssize_t i = 0, o = 0, first = -1, past = -1, at_end, stop
    cdef ucs4 c, c2
    cdef int lt
    # (the match in locals: ``out`` may alias anything, so the pointers' targets would be
    # read from memory after every byte written)
    while i < n:
        if n - i >= 16:
            lt = _ascii_block(u + i, out + o)
            if lt >= 0:
                while lt and past < 0:
                    if _end_html_at(u, i + _lowest_bit(lt), n, &at_end):
                        first = i + _lowest_bit(lt)
                        past = at_end
                    lt &= lt - 1
                i += 16
                o += 16
                continue
            stop = i + 16
        else:
            stop = n
        while i < stop:  # (a surrogate pair may take i one past stop)
            c = u[i]
            i += 1
            if c < 0x80:
                out[o] = <unsigned char>c
                o += 1
                if c == 60 and past < 0 and _end_html_at(u, i - 1, n, &at_end):
                    first = i - 1
                    past = at_end
                continue
            if c < 0x800:
                out[o] = <unsigned char>(0xC0 | (c >> 6))
                out[o + 1] = <unsigned char>(0x80 | (c & 0x3F))
                o += 2
                continue
            if 0xD800 <= c <= 0xDFFF:
                c2 = u[i] if i < n else 0
                if c <= 0xDBFF and 0xDC00 <= c2 <= 0xDFFF:
                    c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00)
                    i += 1
                else:
                    c = 0xFFFD
            if c < 0x10000:
                out[o] = <unsigned char>(0xE0 | (c >> 12))
                out[o + 1] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
                out[o + 2] = <unsigned char>(0x80 | (c & 0x3F))
                o += 3
            else:
                out[o] = <unsigned char>(0xF0 | (c >> 18))
                out[o + 1] = <unsigned char>(0x80 | ((c >> 12) & 0x3F))
                out[o + 2] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
                out[o + 3] = <unsigned char>(0x80 | (c & 0x3F))
                o += 4
    start[0] = first
    end[0] = past
    return o


def encode_page(str html not None) -> tuple:
    """``(segment._utf8(html), start, end)``: the page's UTF-8 bytes (a surrogate pair
    becomes its character, a lone surrogate U+FFFD) and where ``segment._clean`` cuts the
    page: the first match of ``</html\\s*>``, when anything but whitespace follows it
    (``start`` = ``end`` = -1 otherwise). One pass over the code points: encoding, then
    searching the str with the regex, read the page twice (~0.14 + 0.15 ms a WCXB page)."""
    cdef int kind = PyUnicode_KIND(html)
    cdef void* data = PyUnicode_DATA(html)
    cdef Py_ssize_t n = len(html), o = 0, start = -1, end = -1, j
    cdef unsigned char* out
    cdef PyObject* raw
    # at most 2 bytes a code point of a 1-byte str, 3 of a 2-byte one (4 for a surrogate
    # pair of two), 4 of a 4-byte one
    raw = _new_bytes(NULL, (kind + 1 if kind < 4 else 4) * n + 1)
    if raw is NULL:
        raise MemoryError()
    out = <unsigned char*>_bytes_data(raw)
    if kind == 1:
        o = _encode_units(<const unsigned char*>data, n, out, &start, &end)
    elif kind == 2:
        o = _encode_units(<const unsigned short*>data, n, out, &start, &end)
    else:
        o = _encode_units(<const unsigned int*>data, n, out, &start, &end)
    if _PyBytes_Resize(&raw, o) < 0:  # on failure it freed the object and set raw to NULL
        raise MemoryError()
    result = <object>raw  # a reference of its own
    Py_DECREF(raw)
    if end >= 0:
        j = end
        while j < n and Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j)):
            j += 1
        if j == n:  # whitespace only after it: no cut
            start = end = -1
    return result, start, end


# ---- literal scans of the page for ``segment.page_meta``

cdef extern from "string.h":
    # glibc's (also BSD's and macOS's): two-way search with vector loads, ~3x bytes.find
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)


def needle_ends(bytes data, bytes needle, Py_ssize_t end, Py_ssize_t limit=-1) -> list:
    """Where the occurrences of ``needle`` in ``data[:end]`` end, in order (at most
    ``limit`` of them; -1: all): ``segment._needle_ends``, by ``memmem``."""
    cdef const char* base = data
    cdef const char* nd = needle
    cdef Py_ssize_t n = len(needle)
    cdef Py_ssize_t pos = 0
    cdef const char* hit
    cdef list out = []
    if end > len(data):
        end = len(data)
    if n == 0:
        return out
    while limit != 0 and end - pos >= n:
        hit = <const char*>memmem(base + pos, <size_t>(end - pos), nd, <size_t>n)
        if hit == NULL:
            break
        pos = (hit - base) + n
        out.append(pos)
        limit -= 1
    return out
