"""The start-up code of _core is placed together (cmake/startup_order.cmake), so that a start
touches a few pages of its text, not a page in every 64 KB of it."""

import pathlib
import struct

import auditwall

CORE = next(pathlib.Path(auditwall.__file__).parent.glob("_core.cpython-*.so"))
STARTUP = ".text.auditwall_startup"


def elf_sections(path):
    """{name: (address, size)} of the sections of a 64-bit little-endian ELF file, and its
    dynamic symbols {name: address}."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
               for i in range(shnum)]
    names_at = headers[shstrndx][4]

    def name(table_offset, at):
        end = data.index(b"\0", table_offset + at)
        return data[table_offset + at:end].decode()

    sections = {name(names_at, h[0]): h for h in headers}
    symbols = {}
    dynsym = sections.get(".dynsym")
    if dynsym is not None:
        strings = headers[dynsym[6]][4]  # sh_link: its string table
        for at in range(dynsym[4], dynsym[4] + dynsym[5], dynsym[9]):
            st_name, _, _, _, st_value, _ = struct.unpack_from("<IBBHQQ", data, at)
            if st_name:
                symbols[name(strings, st_name)] = st_value
    return {n: (h[3], h[5]) for n, h in sections.items()}, symbols


def test_core_places_its_start_up_code_together():
    sections, symbols = elf_sections(CORE)
    assert STARTUP in sections, sorted(sections)
    start, size = sections[STARTUP]
    assert 0 < size < sections[".text"][1] / 4, (size, sections[".text"][1])
    # The entry point that arms an interpreter before it starts, and the hook, are in it.
    for entry in ("auditwall_preinit_arm", "auditwall_audit_hook"):
        assert start <= symbols[entry] < start + size, (entry, hex(symbols[entry]))

