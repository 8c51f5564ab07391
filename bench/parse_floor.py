"""How much of lxml's parse is building and freeing the tree.

    python bench/parse_floor.py --pages 320 --rounds 5

Times, on the same UTF-8 bytes of the first WCXB pages (as ``segment._parse`` hands them
to libxml2, with its parser options): lxml's ``etree.fromstring`` and freeing the tree;
libxml2's ``htmlReadMemory`` + ``xmlFreeDoc`` (the same tree, without lxml's proxies); and
libxml2's HTML parser with a SAX handler whose callbacks are all NULL (tokenizing and the
parser's own tree logic, no nodes made). The last is the floor of a segmentation driven by
SAX events instead of a tree. The libxml2 functions are called through ctypes from lxml's
own extension module, which exports them: the same libxml2 build lxml parses with.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time

import lxml.etree as etree

from linesift import segment
from linesift.dataset import load_wcxb

# libxml2's htmlParserOption bits: what segment._parse's HTMLParser(huge_tree=True) sets,
# with errors and warnings not reported (lxml collects them; nothing here reads them)
HTML_PARSE_RECOVER, HTML_PARSE_NOERROR, HTML_PARSE_NOWARNING = 1, 1 << 5, 1 << 6
HTML_PARSE_NONET, HTML_PARSE_HUGE = 1 << 11, 1 << 19
OPTIONS = (
    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET
) | HTML_PARSE_HUGE


def _libxml2() -> ctypes.CDLL:
    lib = ctypes.CDLL(etree.__file__)
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.htmlReadMemory.restype = vp
    lib.htmlReadMemory.argtypes = [cp, i, cp, cp, i]
    lib.xmlFreeDoc.argtypes = [vp]
    lib.htmlNewSAXParserCtxt.restype = vp
    lib.htmlNewSAXParserCtxt.argtypes = [vp, vp]
    lib.htmlCtxtReadMemory.restype = vp
    lib.htmlCtxtReadMemory.argtypes = [vp, cp, i, cp, cp, i]
    lib.htmlFreeParserCtxt.argtypes = [vp]
    return lib


# slots of libxml2's xmlSAXHandler (a struct of function pointers, in this order)
_SAX_END_DOCUMENT, _SAX_START_ELEMENT = 13, 14


def _check_events(lib: ctypes.CDLL, pages: list[bytes]) -> None:
    """The SAX stream covers the whole page: as many start-element events as lxml's tree has
    elements, and the end of the document reached (else the floor would be too low)."""
    start = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
    end = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    seen = {"elements": 0, "ends": 0}

    def count(key: str) -> None:
        seen[key] += 1

    on_start = start(lambda ctx, name, attrs: count("elements"))
    on_end = end(lambda ctx: count("ends"))
    for data in pages:
        handler = ctypes.create_string_buffer(4096)
        slots = ctypes.cast(handler, ctypes.POINTER(ctypes.c_void_p))
        slots[_SAX_START_ELEMENT] = ctypes.cast(on_start, ctypes.c_void_p).value
        slots[_SAX_END_DOCUMENT] = ctypes.cast(on_end, ctypes.c_void_p).value
        seen.update(elements=0, ends=0)
        ctxt = lib.htmlNewSAXParserCtxt(handler, None)
        lib.htmlCtxtReadMemory(ctxt, data, len(data), None, b"utf-8", OPTIONS)
        lib.htmlFreeParserCtxt(ctxt)
        html_parser = etree.HTMLParser(huge_tree=True, encoding="utf-8", collect_ids=False)
        root = etree.fromstring(data, html_parser)
        elements = sum(isinstance(el.tag, str) for el in root.iter())
        if seen["elements"] != elements or seen["ends"] != 1:
            raise SystemExit(f"SAX events {seen} differ from the tree's {elements} elements")
    print(f"SAX events checked on {len(pages)} pages: one per element of lxml's tree")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=320)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--check", type=int, default=30, help="pages whose events are counted")
    args = parser.parse_args(argv)
    pages = [segment._clean(p.source).encode("utf-8") for p in load_wcxb(limit=args.pages)]
    lib = _libxml2()
    no_callbacks = ctypes.create_string_buffer(4096)  # a zeroed xmlSAXHandler (and then some)

    def lxml_tree() -> None:
        for data in pages:
            html_parser = etree.HTMLParser(huge_tree=True, encoding="utf-8", collect_ids=False)
            root = etree.fromstring(data, html_parser)
            del root  # frees the document

    def libxml2_tree() -> None:
        for data in pages:
            lib.xmlFreeDoc(lib.htmlReadMemory(data, len(data), None, b"utf-8", OPTIONS))

    def libxml2_no_tree() -> None:
        for data in pages:
            ctxt = lib.htmlNewSAXParserCtxt(no_callbacks, None)
            doc = lib.htmlCtxtReadMemory(ctxt, data, len(data), None, b"utf-8", OPTIONS)
            if doc:  # not expected: no callback makes a document
                lib.xmlFreeDoc(doc)
            lib.htmlFreeParserCtxt(ctxt)

    _check_events(lib, pages[: args.check])
    runs = {
        "lxml fromstring + free": lxml_tree,
        "libxml2 htmlReadMemory + xmlFreeDoc": libxml2_tree,
        "libxml2, SAX callbacks NULL": libxml2_no_tree,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():  # alternated, so host load hits all three alike
            started = time.process_time()
            run()
            times[name].append((time.process_time() - started) * 1000 / len(pages))
    print(f"CPU ms/page, {len(pages)} WCXB pages, median of {args.rounds} rounds")
    for name, values in times.items():
        print(f"  {name:<38} {statistics.median(values):.3f}")


if __name__ == "__main__":
    main()
