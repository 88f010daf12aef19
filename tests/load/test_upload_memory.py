"""XLSX bombs uploaded to a real gunicorn: each is refused at once, the workers' memory stays put.

One gunicorn as deployed (2 workers x 4 threads, gthread) on loopback over a SQLite file; a
recruiter logs in and uploads, to the campaign import, each bomb built here in streaming (the test
holds a few MB, never the gigabyte):

- ``strings``: shared strings that unpack to 1 GiB, 230 to 1 (4.5 MB sent);
- ``cell``: one shared string, one cell, of 1 GiB (4.5 MB sent);
- ``lying``: the same 1 GiB of shared strings, whose directory entries say 10 kB;
- ``long-cell``: a sheet with one cell of 30 MB compressing only 6 to 1 (4.8 MB sent), within
  the other bounds: only the cell length stops it.

Each answer must be a 400 naming the bound within a few seconds; each worker's peak resident
memory (VmHWM, reset before each upload through /proc/<pid>/clear_refs) must stay under its
resident memory before the upload plus 200 MB. Then eight bombs at once: /healthz still answers.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.load import harness

GiB = 2**30
MB = 2**20
HEADROOM = 200 * MB  # a worker's peak over its memory before the upload
ANSWER_SECONDS = 5.0
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- The bombs ---------------------------------------------------------------------------------


def _small_parts() -> dict[str, str]:
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return {
        "[Content_Types].xml": (
            f'<Types xmlns="{PACKAGE}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{main}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{main}.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PACKAGE}/relationships"><Relationship Id="rId1" '
            f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{NS}" xmlns:r="{OFFICE}"><sheets>'
            '<sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PACKAGE}/relationships">'
            f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{OFFICE}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
            '<c r="B1" t="s"><v>1</v></c></row><row r="2">'
            '<c r="A2" t="inlineStr"><is><t>Zoé Petit</t></is></c>'
            '<c r="B2" t="inlineStr"><is><t>zoe@example.org</t></is></c></row>'
            "</sheetData></worksheet>"
        ),
    }


def workbook(chunks: object, part: str = "xl/sharedStrings.xml", level: int = 6) -> bytes:
    """A workbook whose `part` is written from the chunks `chunks` yields, the others small."""
    small = {
        "xl/sharedStrings.xml": f'<sst xmlns="{NS}"><si><t>Nom</t></si><si><t>Email</t></si></sst>',
        **_small_parts(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in small.items():
            if name != part:
                archive.writestr(name, content)
        with archive.open(part, "w", force_zip64=True) as stream:
            for chunk in chunks:
                stream.write(chunk)
    return buffer.getvalue()


def shared_strings(size: int):
    """About `size` bytes of shared strings, 1 MiB at a time, about 400 to 1 once compressed."""
    yield f'<sst xmlns="{NS}"><si><t>Nom</t></si><si><t>Email</t></si>'.encode()
    # Eight names over and over: deflate codes each 258 bytes in a few bits.
    names = b"".join(b"<si><t>Candidat %d Martin</t></si>" % n for n in range(8))
    chunk = names * (MB // len(names))
    for _ in range(size // len(chunk)):
        yield chunk
    yield b"</sst>"


def one_cell(size: int):
    """One shared string of `size` times the same letter."""
    yield f'<sst xmlns="{NS}"><si><t>Nom</t></si><si><t>Email</t></si><si><t>'.encode()
    for _ in range(size // MB):
        yield b"A" * MB
    yield b"</t></si></sst>"


def one_inline_cell(size: int):
    """A sheet whose second line holds a name of `size` random a and b (deflate: 6 to 1)."""
    yield (
        f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>'
    ).encode()
    for _ in range(size // MB):
        bits = format(int.from_bytes(os.urandom(MB // 8), "big"), f"0{MB}b").encode()
        yield bits.translate(bytes.maketrans(b"01", b"ab"))
    yield b"</t></is></c></row></sheetData></worksheet>"


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with the unpacked size of `name` replaced by `size` in both its headers."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    (fixed,) = struct.unpack_from("<L", data, local + 22)
    if fixed == 0xFFFFFFFF:  # zip64: the size is in the extra field, after its id and length
        (name_length,) = struct.unpack_from("<H", data, local + 26)
        extra = local + 30 + name_length
        assert struct.unpack_from("<HH", data, extra)[0] == 0x0001
        struct.pack_into("<Q", patched, extra + 4, size)
    else:
        struct.pack_into("<L", patched, local + 22, size)
    entry = data.index(b"PK\x01\x02")
    while True:  # central directory entries (zip APPNOTE 4.3.12)
        (length,) = struct.unpack_from("<H", data, entry + 28)
        if data[entry + 46 : entry + 46 + length] == name.encode():
            (central,) = struct.unpack_from("<L", data, entry + 24)
            assert central != 0xFFFFFFFF  # under 2 GiB: the size is in the fixed field
            struct.pack_into("<L", patched, entry + 24, size)
            return bytes(patched)
        entry = data.index(b"PK\x01\x02", entry + 46)


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[bytes, str]]:
    """Bomb name -> (file, the start of the message that must answer it)."""
    strings = workbook(shared_strings(GiB))
    too_large = "Le fichier décompressé dépasse 50 Mo"
    made = {
        "strings": (strings, too_large),
        "cell": (workbook(one_cell(GiB), level=1), too_large),
        "lying": (
            declare_size(strings, "xl/sharedStrings.xml", 10_000),
            "Compression anormale (plus de 100 pour 1, ou taille annoncée fausse)",
        ),
        "long-cell": (
            workbook(one_inline_cell(30 * MB), part="xl/worksheets/sheet1.xml"),
            "Cellule trop longue : 32 767 caractères au plus",
        ),
    }
    for name, (data, _message) in made.items():
        assert len(data) < 8 * MB, f"{name}: {len(data)} bytes, over the upload limit"
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("xl/sharedStrings.xml")
        if name in ("strings", "cell"):
            assert info.file_size > 1000 * MB
        if name == "lying":
            assert info.file_size == 10_000 < info.compress_size
    return made


# --- The server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    workdir = Path(tempfile.mkdtemp(prefix="recruit-upload-memory-"))
    instance = workdir / "instance"
    instance.mkdir()
    url = f"sqlite:///{workdir / 'recruit.sqlite3'}"
    gunicorn = harness.Gunicorn(workdir, {}, workers=2, threads=4)
    try:
        gunicorn.env = harness.server_env(url, instance, gunicorn.base_url)
        harness.migrate(url, gunicorn.env)
        seeded = harness.seed(url, instance, harness.Options(candidates=0, recruiters=1, hr=0))
        gunicorn.start()
        yield gunicorn, seeded
    finally:
        gunicorn.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def workers(master: int) -> list[int]:
    """The pids whose parent is the gunicorn master."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            found.append(int(stat.parent.name))
    return sorted(found)


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> bool:
    """Set VmHWM back to VmRSS (Linux 4.0+); False where the kernel does not allow it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def recruiter_session(gunicorn, seeded) -> requests.Session:
    session = requests.Session()
    page = session.get(gunicorn.base_url + "/login", timeout=10)
    response = session.post(
        gunicorn.base_url + "/login",
        data={
            "csrf_token": harness.hidden_value(page.text, "csrf_token"),
            "email": seeded.recruiters[0],
            "password": harness.PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def upload(session: requests.Session, gunicorn, seeded, data: bytes) -> requests.Response:
    path = f"{gunicorn.base_url}/campaigns/{seeded.campaign_id}/import"
    page = session.get(path, timeout=10)
    return session.post(
        path,
        data={"csrf_token": harness.hidden_value(page.text, "csrf_token")},
        files={"spreadsheet": ("candidats.xlsx", data, XLSX)},
        timeout=60,
    )


def test_bombs_are_refused_quickly_and_memory_stays_bounded(server, bombs):
    gunicorn, seeded = server
    session = recruiter_session(gunicorn, seeded)
    pids = workers(gunicorn.proc.pid)
    assert len(pids) == 2, pids
    # A good file first, a few at once, so that both workers have loaded what an import needs.
    good = workbook(shared_strings(0))
    sessions = [recruiter_session(gunicorn, seeded) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        warm = list(pool.map(lambda s: upload(s, gunicorn, seeded, good), sessions))
    assert all(r.status_code == 200 and "Zoé Petit" in r.text for r in warm)
    report = []
    for name, (data, message) in bombs.items():
        before = {pid: memory(pid)["VmRSS"] for pid in pids}
        reset = all(reset_peak(pid) for pid in pids)
        start = time.monotonic()
        response = upload(session, gunicorn, seeded, data)
        seconds = time.monotonic() - start
        peaks = {pid: memory(pid)["VmHWM"] for pid in pids}
        growth = max(peaks[pid] - before[pid] for pid in pids)
        report.append(
            f"{name}: {len(data) / MB:.1f} MB sent, {response.status_code} in {seconds:.2f} s; "
            f"worker RSS before {', '.join(f'{before[p] / MB:.0f}' for p in pids)} MB, "
            f"peak {', '.join(f'{peaks[p] / MB:.0f}' for p in pids)} MB"
            + ("" if reset else " (peak since start: clear_refs refused)")
        )
        print(report[-1])
        assert response.status_code == 400, report[-1]
        assert message in response.text.replace("&#39;", "'"), report[-1]
        assert "Confirmer" not in response.text
        assert seconds < ANSWER_SECONDS, report[-1]
        assert growth < HEADROOM, report[-1]
    assert not gunicorn.tracebacks(), gunicorn.tracebacks()


def test_eight_bombs_at_once_leave_the_server_answering(server, bombs):
    gunicorn, seeded = server
    sessions = [recruiter_session(gunicorn, seeded) for _ in range(8)]
    data = bombs["strings"][0]
    with ThreadPoolExecutor(max_workers=8) as pool:
        start = time.monotonic()
        uploads = [pool.submit(upload, s, gunicorn, seeded, data) for s in sessions]
        health = requests.get(gunicorn.base_url + "/healthz", timeout=30)
        health_seconds = time.monotonic() - start
        statuses = [u.result().status_code for u in uploads]
        all_seconds = time.monotonic() - start
    print(f"8 bombs at once: {statuses} in {all_seconds:.2f} s; /healthz {health_seconds:.2f} s")
    assert statuses == [400] * 8
    assert health.status_code == 200 and health_seconds < ANSWER_SECONDS
    assert all_seconds < 2 * ANSWER_SECONDS
