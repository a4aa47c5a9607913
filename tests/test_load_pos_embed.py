"""vitlearn.load_pos_embed: local files, URLs, the cache, byte ranges and offline failures.

Nothing here touches the network: a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) serves
small checkpoints the tests write, in timm, Hugging Face, MAE and DINOv2 naming and in each file
format, with or without byte ranges, and counts the requests and bytes it answers.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import vitlearn
from vitlearn import OfflineError, load_pos_embed, online, sincos_2d_pos_embed
from vitlearn.checkpoints import remote
from vitlearn.checkpoints._http import BLOCK, HTTPStatusError

D = 64
SIDE = 14


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def filler(gen: torch.Generator) -> torch.Tensor:
    """A weight big enough that no file fits in one range request (1024 x 64 floats = 256 kB)."""
    return torch.randn(1024, D, generator=gen)


def timm_sd(gen: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    gen = gen or _gen()
    return {
        "blocks.0.mlp.fc1.weight": filler(gen),  # before the table, in the file too
        "cls_token": torch.randn(1, 1, D, generator=gen),
        "pos_embed": torch.randn(1, 1 + SIDE * SIDE, D, generator=gen),
        "patch_embed.proj.weight": torch.randn(D, 3, 16, 16, generator=gen),
    }


def hf_sd() -> dict[str, torch.Tensor]:
    gen = _gen()
    return {
        "vit.embeddings.cls_token": torch.randn(1, 1, D, generator=gen),
        "vit.embeddings.position_embeddings": torch.randn(1, 1 + SIDE * SIDE, D, generator=gen),
        "vit.embeddings.patch_embeddings.projection.weight": torch.randn(
            D, 3, 16, 16, generator=gen
        ),
        "vit.encoder.layer.0.intermediate.dense.weight": filler(gen),
    }


def mae_sd() -> dict[str, torch.Tensor]:
    sd = timm_sd()
    sd["pos_embed"] = torch.cat([torch.zeros(1, D), sincos_2d_pos_embed(SIDE, D)])[None]
    return sd


def dinov2_sd(side: int = SIDE, dim: int = D) -> dict[str, torch.Tensor]:
    gen = _gen()
    return {
        "cls_token": torch.randn(1, 1, dim, generator=gen),
        "pos_embed": torch.randn(1, 1 + side * side, dim, generator=gen),
        "register_tokens": torch.randn(1, 4, dim, generator=gen),  # no rows in pos_embed
        "mask_token": torch.zeros(1, dim),
        "patch_embed.proj.weight": torch.randn(dim, 3, 14, 14, generator=gen),
        "blocks.0.ls1.gamma": torch.ones(dim),
        "blocks.0.mlp.fc1.weight": torch.randn(1024, dim, generator=gen),
    }


# name -> (write it, state dict, expected key, format, prefix rows)
def _pth(obj):
    return lambda path: torch.save(obj, path)


def _st(sd):
    return lambda path: save_file(sd, str(path), metadata={"format": "pt"})


_TIMM, _HF, _MAE, _DINO = timm_sd(), hf_sd(), mae_sd(), dinov2_sd()
KINDS = {
    "timm.pth": (_pth(_TIMM), _TIMM, "pos_embed", "timm", 1),
    "timm_wrapped.pth": (
        _pth({"model": _TIMM, "epoch": 7, "args": {"lr": 0.1}}),
        _TIMM,
        "pos_embed",
        "timm",
        1,
    ),
    "timm.safetensors": (_st(_TIMM), _TIMM, "pos_embed", "timm", 1),
    "hf.bin": (_pth(_HF), _HF, "vit.embeddings.position_embeddings", "hf", 1),
    "hf.safetensors": (_st(_HF), _HF, "vit.embeddings.position_embeddings", "hf", 1),
    "mae.pth": (_pth({"model": _MAE}), _MAE, "pos_embed", "mae", 1),
    "dinov2.pth": (_pth(_DINO), _DINO, "pos_embed", "dinov2", 1),
}


class Server:
    """Files of ``root`` over HTTP on 127.0.0.1, with switches and counters.

    ``ranges``: honour ``Range: bytes=a-b`` (206) or ignore it (200, the whole file);
    ``truncate``: send half the body, then close; ``redirects``: path -> path (302), as the
    Hugging Face Hub sends its files to a CDN. ``requests`` lists ``(method, path, Range)``;
    ``bytes_sent`` counts body bytes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ranges = True
        self.truncate = False
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.bytes_sent = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self.serve(body=False)

            def do_GET(self) -> None:
                self.serve(body=True)

            def serve(self, body: bool) -> None:
                rng = self.headers.get("Range")
                state.requests.append((self.command, self.path, rng))
                if self.path in state.redirects:
                    self.send_response(302)
                    self.send_header("Location", state.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = state.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if state.ranges and m:
                    first = int(m[1])
                    last = min(int(m[2]) if m[2] else len(data) - 1, len(data) - 1)
                    part = data[first : last + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
                else:
                    part = data
                    self.send_response(200)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if body:
                    if state.truncate:
                        part = part[: len(part) // 2]
                    state.bytes_sent += len(part)  # before writing: the client may look at once
                    self.wfile.write(part)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache folder, through VITLEARN_CACHE."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("VITLEARN_CACHE", str(folder))
    return folder


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "served"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.stop()


def write(server: Server, name: str) -> tuple[Path, dict[str, torch.Tensor], str, str, int]:
    writer, sd, key, fmt, prefix = KINDS[name]
    path = server.root / name
    writer(path)
    return path, sd, key, fmt, prefix


def cached_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- local files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(KINDS))
def test_local_file_of_each_kind(tmp_path: Path, name: str) -> None:
    writer, sd, key, fmt, prefix = KINDS[name]
    path = tmp_path / name
    writer(path)
    for source in (path, str(path)):
        table, info = load_pos_embed(source, progress=False)
        assert torch.equal(table, sd[key]) and table.dtype == torch.float32
        assert (info["key"], info["format"], info["num_prefix_tokens"]) == (key, fmt, prefix)
        assert info["grid_size"] == (SIDE, SIDE) and info["shape"] == (1, 1 + SIDE * SIDE, D)
        assert info["url"] is None and info["file"] == str(path) and info["downloaded_bytes"] == 0
    assert info["wrapper"] == ("model" if name in ("timm_wrapped.pth", "mae.pth") else None)
    assert info["patch_size"] == ((14, 14) if fmt == "dinov2" else (16, 16))


def test_a_2d_table_in_half_precision_comes_back_as_float32_1_t_d(tmp_path: Path) -> None:
    sd = {"cls_token": torch.zeros(1, 1, 8), "pos_embed": torch.randn(17, 8).half()}
    torch.save(sd, tmp_path / "half.pt")
    table, info = load_pos_embed(tmp_path / "half.pt")
    assert table.shape == (1, 17, 8) and table.dtype == torch.float32
    assert torch.equal(table[0], sd["pos_embed"].float()) and info["grid_size"] == (4, 4)


def test_find_pos_embed_arguments_pass_through(tmp_path: Path) -> None:
    sd = {"cls_token": torch.zeros(1, 1, 8), "pos_embed": torch.randn(1, 1 + 12, 8)}  # 3 x 4
    torch.save(sd, tmp_path / "wide.pt")
    with pytest.raises(
        ValueError, match="12 grid tokens, not a square number: give the grid as old_size"
    ):
        load_pos_embed(tmp_path / "wide.pt")
    assert load_pos_embed(tmp_path / "wide.pt", old_size=(3, 4))[1]["grid_size"] == (3, 4)


# ---- URLs, with and without byte ranges, and the cache -----------------------------------------


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
@pytest.mark.parametrize("name", list(KINDS))
def test_url_of_each_kind_then_the_cache_without_the_server(
    server: Server, cache: Path, name: str, ranges: bool
) -> None:
    path, sd, key, fmt, prefix = write(server, name)
    server.ranges = ranges
    table, info = load_pos_embed(server.url(name), progress=False)
    assert torch.equal(table, sd[key])
    assert (info["key"], info["format"], info["num_prefix_tokens"], info["grid_size"]) == (
        key,
        fmt,
        prefix,
        (SIDE, SIDE),
    )
    assert info["url"] == server.url(name) and info["downloaded_bytes"] == server.bytes_sent
    size = path.stat().st_size
    if ranges:  # only the header (or the zip's directory and pickle) and the table came
        assert server.bytes_sent < size / 2, (server.bytes_sent, size)
        assert info["file"].endswith(".table.safetensors")
    else:  # one request, the whole file, kept as it came
        assert len(server.requests) == 1 and server.bytes_sent == size
        assert Path(info["file"]).read_bytes() == path.read_bytes()
    assert Path(info["file"]).parent == cache and not [
        n for n in cached_files(cache) if n.startswith(".")
    ]

    server.stop()  # the second call needs no network
    again, info2 = load_pos_embed(server.url(name), progress=False)
    assert torch.equal(again, table) and info2["downloaded_bytes"] == 0
    assert {k: v for k, v in info2.items() if k != "downloaded_bytes"} == {
        k: v for k, v in info.items() if k != "downloaded_bytes"
    }


def _vit_b_safetensors(path: Path, filler_mb: int) -> torch.Tensor:
    """A ViT-B/16-shaped table (1, 197, 768) beside ``filler_mb`` MB of other weights."""
    gen = _gen()
    table = torch.randn(1, 197, 768, generator=gen)
    sd = {"cls_token": torch.randn(1, 1, 768, generator=gen), "pos_embed": table}
    for i in range(filler_mb):
        sd[f"blocks.{i}.mlp.fc1.weight"] = torch.zeros(1024 * 1024 // 4)
    save_file(sd, str(path))
    return table


def test_ranges_fetch_the_header_and_the_table_bytes_only(server: Server) -> None:
    table = _vit_b_safetensors(server.root / "model.safetensors", filler_mb=8)
    got, info = load_pos_embed(server.url("model.safetensors"), progress=False)
    assert torch.equal(got, table)
    table_bytes = 197 * 768 * 4
    # one request for the first block (length + JSON header), one for the table's byte range
    assert [r[2] for r in server.requests] == [f"bytes=0-{BLOCK - 1}", server.requests[1][2]]
    assert server.bytes_sent == BLOCK + table_bytes == info["downloaded_bytes"]


def test_ranges_on_a_torch_zip_fetch_directory_pickle_and_table(server: Server) -> None:
    gen = _gen()
    table = torch.randn(1, 197, 768, generator=gen)
    sd = {
        f"blocks.{i}.weight": torch.randn(256, 1024, generator=gen) for i in range(8)
    }  # 8 MB first
    sd |= {"cls_token": torch.zeros(1, 1, 768), "pos_embed": table}
    torch.save({"model": sd}, server.root / "model.pth")
    got, info = load_pos_embed(server.url("model.pth"), progress=False)
    assert torch.equal(got, table) and info["wrapper"] == "model"
    # the first block (data.pkl), the block before the end (zip directory), the table's record
    assert len(server.requests) == 3
    assert server.bytes_sent <= 2 * BLOCK + 197 * 768 * 4 + BLOCK


def test_ranges_read_parameters_and_a_view_into_a_shared_storage(server: Server) -> None:
    gen = _gen()
    both = torch.randn(2, 1 + SIDE * SIDE, D, generator=gen)  # one storage, two tables in it
    sd = {
        "blocks.0.mlp.fc1.weight": filler(gen),
        "cls_token": torch.nn.Parameter(torch.zeros(1, 1, D)),  # pickled as _rebuild_parameter
        "pos_embed": both[1:],  # a view at a storage offset
        "decoder_pos_embed": both[:1],
    }
    torch.save(sd, server.root / "views.pth")
    table, info = load_pos_embed(server.url("views.pth"), progress=False)
    assert torch.equal(table, both[1:]) and info["file"].endswith(".table.safetensors")


def test_hf_hub_style_redirect_then_ranges_go_to_the_final_address(server: Server) -> None:
    table = _vit_b_safetensors(server.root / "cdn.safetensors", filler_mb=1)
    server.redirects["/timm/vit/resolve/main/model.safetensors"] = "/cdn.safetensors"
    url = server.url("timm/vit/resolve/main/model.safetensors")
    got, info = load_pos_embed(url, progress=False)
    assert torch.equal(got, table)
    assert [(r[1], r[2] is not None) for r in server.requests] == [
        ("/timm/vit/resolve/main/model.safetensors", True),
        ("/cdn.safetensors", True),
        ("/cdn.safetensors", True),
    ]
    assert Path(info["file"]).name.endswith("-timm--vit--model.safetensors.table.safetensors")


def test_without_ranges_the_whole_file_comes_with_a_progress_bar(server: Server, capsys) -> None:
    _vit_b_safetensors(server.root / "model.safetensors", filler_mb=4)
    server.ranges = False
    load_pos_embed(server.url("model.safetensors"))
    out = capsys.readouterr().out
    assert "downloading " in out and "[####################]" in out
    assert (
        load_pos_embed(server.url("model.safetensors"), progress=False)[1]["downloaded_bytes"] == 0
    )
    assert capsys.readouterr().out == ""


def test_ranges_say_what_they_fetched(server: Server, capsys) -> None:
    _vit_b_safetensors(server.root / "model.safetensors", filler_mb=4)
    load_pos_embed(server.url("model.safetensors"))
    out = capsys.readouterr().out.strip()
    assert out.startswith(
        "pos_embed (1, 197, 768): fetched 671 kB of a 4.8 MB file (2 requests)"
    ), out


def test_a_file_in_the_old_torch_format_is_downloaded_whole(server: Server, capsys) -> None:
    sd = timm_sd()
    torch.save(sd, server.root / "old.pth", _use_new_zipfile_serialization=False)
    table, info = load_pos_embed(server.url("old.pth"))
    assert torch.equal(table, sd["pos_embed"])
    out = capsys.readouterr().out
    assert (
        "cannot be read alone" in out and "neither a safetensors file nor a torch.save zip" in out
    )
    size = (server.root / "old.pth").stat().st_size
    assert info["downloaded_bytes"] == server.bytes_sent == BLOCK + size


class Opaque:
    """A class that torch.load(weights_only=True) refuses to rebuild."""


def test_a_pickle_with_other_classes_is_downloaded_whole_and_refused_as_torch_refuses_it(
    server: Server,
) -> None:
    torch.save({"model": timm_sd(), "extra": Opaque()}, server.root / "pickled.pth")
    with pytest.raises(
        ValueError, match="downloaded, but .*weights_only=True.*the file was not kept"
    ):
        load_pos_embed(server.url("pickled.pth"), progress=False)


def test_two_tables_by_key_share_one_cache_file(server: Server, cache: Path) -> None:
    sd = mae_sd()  # an MAE pre-training checkpoint: encoder and decoder tables
    sd["decoder_pos_embed"] = torch.cat([torch.zeros(1, 16), sincos_2d_pos_embed(SIDE, 16)])[None]
    sd["mask_token"] = torch.zeros(1, 1, 16)
    torch.save({"model": sd}, server.root / "mae_full.pth")
    url = server.url("mae_full.pth")
    enc, i1 = load_pos_embed(url, progress=False)  # the encoder's table is the one found by name
    dec, i2 = load_pos_embed(url, key="decoder_pos_embed", progress=False)
    assert torch.equal(enc, sd["pos_embed"]) and torch.equal(dec, sd["decoder_pos_embed"])
    assert i1["format"] == i2["format"] == "mae" and i1["file"] == i2["file"]
    server.stop()
    assert torch.equal(load_pos_embed(url, key="decoder_pos_embed", progress=False)[0], dec)
    assert torch.equal(load_pos_embed(url, progress=False)[0], enc)


def test_cache_dir_argument_and_a_copied_cache_folder(server: Server, tmp_path: Path) -> None:
    path, sd, key, *_ = write(server, "timm.safetensors")
    url = server.url("timm.safetensors")
    load_pos_embed(url, progress=False, cache_dir=tmp_path / "mine")
    server.stop()
    classroom = tmp_path / "usb-stick"
    (tmp_path / "mine").rename(classroom)  # a teacher's cache, copied to a machine with no network
    table, info = load_pos_embed(url, progress=False, cache_dir=classroom)
    assert torch.equal(table, sd[key]) and info["downloaded_bytes"] == 0


def test_a_small_file_fits_in_the_first_request(server: Server) -> None:
    sd = {"cls_token": torch.zeros(1, 1, 8), "pos_embed": torch.randn(1, 17, 8)}
    save_file(sd, str(server.root / "tiny.safetensors"))
    table, info = load_pos_embed(server.url("tiny.safetensors"), progress=False)
    assert torch.equal(table, sd["pos_embed"]) and len(server.requests) == 1
    assert Path(info["file"]).name.endswith("-tiny.safetensors")


# ---- failures: offline, truncated, wrong --------------------------------------------------------


def _assert_offline_message(e: pytest.ExceptionInfo, url: str) -> None:
    text = str(e.value)
    assert len(text.splitlines()) == 1, text
    assert text.startswith(f"could not reach {url} ("), text
    assert (
        "To work offline, download" in text and "pass its path" in text and "VITLEARN_CACHE" in text
    )


def test_a_closed_port_fails_at_once_with_the_offline_message() -> None:
    url = f"http://127.0.0.1:{free_port()}/model.safetensors"
    start = time.monotonic()
    with pytest.raises(OfflineError) as e:
        load_pos_embed(url, progress=False)
    assert time.monotonic() - start < 5
    _assert_offline_message(e, url)
    assert isinstance(e.value, ConnectionError) and vitlearn.OfflineError is remote.OfflineError


def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/model.safetensors"
        start = time.monotonic()
        with pytest.raises(OfflineError) as e:
            load_pos_embed(url, progress=False, timeout=1.0)
        assert 0.9 < time.monotonic() - start < 5
    _assert_offline_message(e, url)


def test_a_name_lookup_that_hangs_is_given_up_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = socket.getaddrinfo

    def slow(*args, **kwargs):
        time.sleep(5)  # a resolver that does not answer; socket timeouts do not cover it
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    url = "http://checkpoints.example.invalid/model.safetensors"
    start = time.monotonic()
    with pytest.raises(OfflineError) as e:
        load_pos_embed(url, progress=False, timeout=0.5)
    assert time.monotonic() - start < 2
    _assert_offline_message(e, url)
    assert "no answer within 0.5 s" in str(e.value)


def test_a_host_whose_addresses_are_all_black_holed_fails_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A name with four addresses that drop every packet: each connection attempt waits out the
    # socket's timeout, and urllib tries the addresses one after the other (4 x 1 s here).
    addresses = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"192.0.2.{i}", 80)) for i in range(1, 5)
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)

    def black_hole(sock: socket.socket, address: object) -> None:
        time.sleep(sock.gettimeout() or 60)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket.socket, "connect", black_hole)
    url = "http://checkpoints.example.invalid/model.safetensors"
    start = time.monotonic()
    with pytest.raises(OfflineError) as e:
        load_pos_embed(url, progress=False, timeout=1.0)
    assert time.monotonic() - start < 2
    _assert_offline_message(e, url)


def test_a_truncated_download_is_not_kept(server: Server, cache: Path) -> None:
    path, sd, key, *_ = write(server, "timm.pth")
    server.ranges, server.truncate = False, True
    with pytest.raises(OfflineError, match=r"stopped after \d+ of \d+ bytes; nothing was kept"):
        load_pos_embed(server.url("timm.pth"), progress=False)
    assert cached_files(cache) == []  # neither the file nor a temporary one
    server.truncate = False
    table, info = load_pos_embed(server.url("timm.pth"), progress=False)
    assert torch.equal(table, sd[key]) and info["downloaded_bytes"] == path.stat().st_size


def test_a_truncated_range_is_offline_and_keeps_nothing(server: Server, cache: Path) -> None:
    write(server, "timm.safetensors")
    server.truncate = True
    with pytest.raises(OfflineError, match="stopped after"):
        load_pos_embed(server.url("timm.safetensors"), progress=False)
    assert cached_files(cache) == []


def test_a_download_that_is_not_a_checkpoint_is_not_kept(server: Server, cache: Path) -> None:
    (server.root / "page.pth").write_bytes(b"<html>Sign in to download</html>")
    with pytest.raises(
        ValueError, match=r"page.pth: downloaded, but .*not a readable torch checkpoint.*not kept"
    ):
        load_pos_embed(server.url("page.pth"), progress=False)
    assert cached_files(cache) == []


def test_not_found_is_an_http_error_not_offline(server: Server) -> None:
    with pytest.raises(
        HTTPStatusError, match=r"missing.pth: not found on the server \(HTTP 404"
    ) as e:
        load_pos_embed(server.url("missing.pth"), progress=False)
    assert e.value.code == 404 and not isinstance(e.value, OfflineError)


@pytest.mark.parametrize(
    "source,error,message",
    [
        (
            "vit_base_patch16_224.augreg_in2k",
            ValueError,
            "did you mean 'vit_base_patch16_224.augreg_in21k'",
        ),
        ("no_such_model", ValueError, "is not a file, an http(s) URL or a catalogue name"),
        ("missing/model.pth", FileNotFoundError, "no such file"),
        ("model.safetensors", FileNotFoundError, "no such file"),
        (42, TypeError, "source must be a path, an http(s) URL or a catalogue name, got int"),
    ],
)
def test_bad_sources(source, error, message) -> None:
    with pytest.raises(error, match=re.escape(message)):
        load_pos_embed(source)


def test_bad_timeout() -> None:
    with pytest.raises(ValueError, match=r"timeout \(in seconds\) must be greater than 0, got 0"):
        load_pos_embed("http://127.0.0.1:9/x.pth", timeout=0)
    with pytest.raises(TypeError, match=r"timeout \(in seconds\) must be a number, got str '5'"):
        load_pos_embed("http://127.0.0.1:9/x.pth", timeout="5")


# ---- the catalogue -------------------------------------------------------------------------------


def test_a_catalogue_name_resolves_to_its_url(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd = dinov2_sd(side=37, dim=384)  # the shape the entry promises: 37 x 37 + 1 rows of 384
    torch.save(sd, server.root / "dinov2_vits14_pretrain.pth")
    entry = remote.CATALOGUE["dinov2_vits14"]
    monkeypatch.setitem(
        remote.CATALOGUE,
        "dinov2_vits14",
        remote.Checkpoint(
            server.url("dinov2_vits14_pretrain.pth"),
            entry.format,
            entry.licence,
            entry.about,
            entry.shape,
        ),
    )
    table, info = load_pos_embed("dinov2_vits14", progress=False)
    assert torch.equal(table, sd["pos_embed"]) and info["grid_size"] == (37, 37)
    assert (info["name"], info["licence"], info["format"]) == (
        "dinov2_vits14",
        "Apache-2.0",
        "dinov2",
    )
    assert info["url"] == server.url("dinov2_vits14_pretrain.pth") and server.requests


def test_a_catalogue_entry_whose_file_changed_is_a_clear_error(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(server, "timm.safetensors")  # (1, 197, 64), not the promised (1, 197, 768)
    entry = remote.CATALOGUE["vit_base_patch16_224.augreg_in21k"]
    monkeypatch.setitem(
        remote.CATALOGUE,
        "vit_base_patch16_224.augreg_in21k",
        remote.Checkpoint(
            server.url("timm.safetensors"), entry.format, entry.licence, entry.about, entry.shape
        ),
    )
    with pytest.raises(ValueError) as e:
        load_pos_embed("vit_base_patch16_224.augreg_in21k", progress=False)
    assert str(e.value).startswith(
        "catalogue entry 'vit_base_patch16_224.augreg_in21k' promises a timm-named table of shape "
        "(1, 197, 768), but"
    ) and "gave a timm-named one of shape (1, 197, 64) (pos_embed)" in str(e.value)


def test_the_catalogue_is_documented_and_consistent() -> None:
    doc = load_pos_embed.__doc__
    assert {
        "vit_base_patch16_224.augreg_in21k",
        "deit_small_patch16_224.fb_in1k",
        "dinov2_vits14",
    } <= set(remote.CATALOGUE)
    for name, entry in remote.CATALOGUE.items():
        assert entry.url.startswith("https://") and entry.format in ("timm", "hf", "dinov2")
        row = re.search(rf"``{re.escape(name)}``\s+(\S+)\s+(\(1, \d+, \d+\))\s+(\w+)", doc)
        assert row, name
        assert (row[1], row[2], row[3]) == (entry.licence, str(entry.shape), entry.format), name
        # the table is a class row plus a square grid of patches
        side = int((entry.shape[1] - 1) ** 0.5)
        assert side * side == entry.shape[1] - 1


# ---- online() ------------------------------------------------------------------------------------


def test_online(server: Server) -> None:
    assert (
        online(server.url("anything"), timeout=2) is True
    )  # a 404 is an answer: the network is there
    assert online(f"http://127.0.0.1:{free_port()}/", timeout=2) is False
    start = time.monotonic()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        assert online(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.5) is False
    assert time.monotonic() - start < 3


def test_no_global_socket_timeout_is_changed(server: Server) -> None:
    before = socket.getdefaulttimeout()
    write(server, "timm.safetensors")
    load_pos_embed(server.url("timm.safetensors"), progress=False, timeout=3)
    online(server.url("x"), timeout=1)
    assert socket.getdefaulttimeout() == before
