"""Real checkpoints, when online: the position table of a published ViT in one call.

>>> table, info = vitlearn.load_pos_embed("vit_base_patch16_224.augreg_in21k")  # doctest: +SKIP
>>> table.shape, info["grid_size"], info["num_prefix_tokens"], info["format"]  # doctest: +SKIP
(torch.Size([1, 197, 768]), (14, 14), 1, 'timm')

``source`` is a checkpoint file on this machine, an ``http(s)`` URL, or a name from
:data:`CATALOGUE`. Whatever is fetched is kept in a cache folder (``VITLEARN_CACHE``, by default
``~/.cache/vitlearn``) and read from there next time, with no network.

Only the table is fetched when the file and the server allow it. A ``.safetensors`` file starts
with a header that gives every tensor's byte range; a ``torch.save`` file is a zip whose directory
(at its end) gives each tensor's record, and whose small ``data.pkl`` names the record of each
state-dict entry. With HTTP range requests that is a few hundred kilobytes instead of a whole
350 MB file; the table is kept in a small ``.safetensors`` file (with the names and shapes of the
whole state dict in its metadata). Otherwise (a server that ignores ranges, a torch file in the
pre-1.6 format, a pickle naming classes other than tensors) the whole file is downloaded, with a
progress bar, and kept. Either way, what is returned was read from the kept file by
:func:`vitlearn.checkpoints.read_state_dict`, the reader the command line uses too.

Offline, a URL fails within ``timeout`` seconds with :class:`OfflineError` (one line, saying how to
work offline); :func:`online` asks cheaply whether the network is there.
"""

from __future__ import annotations

import collections
import difflib
import hashlib
import io
import json
import os
import pickle
import sys
import urllib.parse
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from .._checks import check_number
from ._http import (
    BLOCK,
    OfflineError,
    RangesRefused,
    RemoteFile,
    atomic_path,
    content_range,
    open_url,
    reachable,
    read_exact,
    save_response,
    write_bytes,
)
from .find import PosEmbedInfo, find_pos_embed
from .state_dict import _unwrap, read_state_dict, write_state_dict

__all__ = ["CATALOGUE", "Checkpoint", "OfflineError", "load_pos_embed", "online"]


@dataclass(frozen=True)
class Checkpoint:
    """A public checkpoint: where it is, whose naming it uses, its licence, its table's shape."""

    url: str
    format: str
    licence: str
    about: str
    shape: tuple[int, int, int]


def _hf(repo: str, file: str) -> str:
    # huggingface_hub's download URL (constants.HUGGINGFACE_CO_URL_TEMPLATE with ENDPOINT
    # https://huggingface.co): {endpoint}/{repo_id}/resolve/{revision}/{filename}
    return f"https://huggingface.co/{repo}/resolve/main/{file}"


_DINOV2 = "https://dl.fbaipublicfiles.com/dinov2"  # facebookresearch/dinov2 dinov2/hub/utils.py

CATALOGUE: dict[str, Checkpoint] = {
    "vit_base_patch16_224.augreg_in21k": Checkpoint(
        _hf("timm/vit_base_patch16_224.augreg_in21k", "model.safetensors"),
        "timm",
        "Apache-2.0",
        "ViT-B/16 at 224 px trained on ImageNet-21k with AugReg (Steiner et al., 'How to train "
        "your ViT?'), timm's copy of Google's weights; a 410 MB file",
        (1, 1 + 14 * 14, 768),
    ),
    "vit_base_patch16_224.augreg_in21k_ft_in1k": Checkpoint(
        _hf("timm/vit_base_patch16_224.augreg_in21k_ft_in1k", "model.safetensors"),
        "timm",
        "Apache-2.0",
        "the same ViT-B/16 fine-tuned on ImageNet-1k; a 346 MB file",
        (1, 1 + 14 * 14, 768),
    ),
    "deit_small_patch16_224.fb_in1k": Checkpoint(
        _hf("timm/deit_small_patch16_224.fb_in1k", "model.safetensors"),
        "timm",
        "Apache-2.0",
        "DeiT-S/16 at 224 px trained on ImageNet-1k (Touvron et al.), timm's copy; an 88 MB file",
        (1, 1 + 14 * 14, 384),
    ),
    "facebook/deit-small-patch16-224": Checkpoint(
        _hf("facebook/deit-small-patch16-224", "pytorch_model.bin"),
        "hf",
        "Apache-2.0",
        "the same DeiT-S/16 in Hugging Face transformers' naming (ViTForImageClassification); "
        "an 88 MB torch file",
        (1, 1 + 14 * 14, 384),
    ),
    "dinov2_vits14": Checkpoint(
        f"{_DINOV2}/dinov2_vits14/dinov2_vits14_pretrain.pth",
        "dinov2",
        "Apache-2.0",
        "DINOv2 ViT-S/14 backbone (Oquab et al.), self-supervised on LVD-142M; its table is a "
        "37x37 grid (518 px) plus the class row",
        (1, 1 + 37 * 37, 384),
    ),
    "dinov2_vits14_reg4": Checkpoint(
        f"{_DINOV2}/dinov2_vits14/dinov2_vits14_reg4_pretrain.pth",
        "dinov2",
        "Apache-2.0",
        "DINOv2 ViT-S/14 with 4 register tokens (Darcet et al.), which have no row in the table",
        (1, 1 + 37 * 37, 384),
    ),
}
"""Public checkpoints :func:`load_pos_embed` knows by name; see its docstring for the licences."""

_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar")


# ---- the cache -----------------------------------------------------------------------------------


def _cache_folder(folder: str | os.PathLike[str] | None) -> Path:
    """The cache folder: ``folder`` if given, else ``$VITLEARN_CACHE``, else
    ``~/.cache/vitlearn``."""
    if folder is not None:
        return Path(folder).expanduser()
    env = os.environ.get("VITLEARN_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vitlearn"


def _cache_name(url: str) -> str:
    """A file name for ``url``: 12 hex digits of its SHA-256, then its readable end.

    ``https://huggingface.co/timm/vit_x/resolve/main/model.safetensors`` ->
    ``<hash>-timm--vit_x--model.safetensors``; any other URL -> ``<hash>-<its last path part>``.
    """
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    if len(parts) >= 5 and parts[-3] == "resolve":  # the Hub: owner/repo/resolve/revision/file
        readable = f"{parts[-5]}--{parts[-4]}--{parts[-1]}"
    else:
        readable = parts[-1] if parts else "download"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in readable)
    return f"{digest}-{safe}"


_INDEX = "vitlearn.index"
_URL = "vitlearn.url"
_WRAPPER = "vitlearn.wrapper"


def _save_table_cache(
    path: Path, sd: dict[str, Any], wrapper: str | None, keys: set[str], url: str
) -> None:
    """Keep the tables ``keys`` of ``sd`` in a small safetensors file, with every name and shape.

    The names, dtypes and shapes of the whole state dict go in the file's metadata, so that the
    next call rebuilds the same skeleton and finds the same table, prefix tokens and naming.
    Tables kept earlier in the same file (other ``key=`` choices) are kept.
    """
    if path.is_file():
        try:
            _, old, _, _ = read_state_dict(path)
        except ValueError:  # unreadable: replaced below
            old = {}
        keys |= {k for k in old if k in sd}
        sd = {**sd, **{k: old[k] for k in old if k in sd and sd[k].device.type == "meta"}}
    index = {
        k: [str(v.dtype).removeprefix("torch."), list(v.shape)]
        for k, v in sd.items()
        if isinstance(v, torch.Tensor)
    }
    metadata = {_INDEX: json.dumps(index), _URL: url, _WRAPPER: wrapper or ""}
    with atomic_path(path) as tmp:
        write_state_dict({k: sd[k] for k in sorted(keys)}, tmp, metadata)


def _read_table_cache(path: Path) -> tuple[dict[str, Any], str | None, set[str]]:
    """The skeleton state dict kept by :func:`_save_table_cache`, and the keys it has real data
    for."""
    _, stored, _, metadata = read_state_dict(path)
    metadata = metadata or {}
    if _INDEX not in metadata:
        raise ValueError(f"{path}: not a table kept by vitlearn (no {_INDEX} in its metadata)")
    sd: dict[str, Any] = {}
    for k, (dtype, shape) in json.loads(metadata[_INDEX]).items():
        sd[k] = (
            stored[k]
            if k in stored
            else torch.empty(shape, dtype=getattr(torch, dtype), device="meta")
        )
    return sd, metadata.get(_WRAPPER) or None, set(stored)


# ---- reading one tensor of a remote file ---------------------------------------------------------


class _NotAlone(Exception):
    """The table cannot be read without the whole file (the reason is the message)."""


# safetensors dtype names (the format's spec) -> torch
_ST_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}

# A loader per meta tensor of a skeleton: id(meta tensor) -> a call returning the real tensor.
_Loaders = dict[int, Callable[[], torch.Tensor]]


def _safetensors_index(remote: RemoteFile, header_len: int) -> tuple[dict[str, Any], _Loaders]:
    """The state dict as meta tensors, from the header: 8 bytes of length, then JSON.

    The JSON maps each name to ``dtype``, ``shape`` and ``data_offsets`` (begin, end) counted from
    the end of the header; the data is little-endian and C-contiguous.
    """
    remote.seek(8)
    try:
        header = json.loads(remote.read(header_len))
    except ValueError as e:
        raise _NotAlone(f"its safetensors header is not JSON ({e})") from None
    base = 8 + header_len
    sd: dict[str, Any] = {}
    loaders: _Loaders = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _ST_DTYPES.get(spec["dtype"])
        begin, end = spec["data_offsets"]
        meta = torch.empty(spec["shape"], dtype=dtype or torch.uint8, device="meta")
        sd[name] = meta
        loaders[id(meta)] = partial(
            _read_contiguous,
            remote,
            base + begin,
            end - begin,
            dtype,
            spec["shape"],
            spec["dtype"],
            name,
        )
    return sd, loaders


def _read_contiguous(
    remote: RemoteFile,
    start: int,
    nbytes: int,
    dtype: torch.dtype | None,
    shape: list[int],
    dtype_name: str,
    name: str,
) -> torch.Tensor:
    if dtype is None:
        raise _NotAlone(f"{name} has the dtype {dtype_name}, which vitlearn cannot read alone")
    remote.seek(start)
    raw = remote.read(nbytes)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()


class _StorageKind:
    """Stands for ``torch.FloatStorage`` & co. in a checkpoint's pickle: only the dtype matters."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: torch.dtype
    numel: int


_STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "UntypedStorage": torch.uint8,
}


class _SkeletonUnpickler(pickle.Unpickler):
    """Reads a ``torch.save`` pickle (``data.pkl``) into meta tensors, without any tensor data.

    ``torch.save`` pickles each tensor as ``torch._utils._rebuild_tensor_v2(storage, offset,
    size, stride, ...)``, where the storage is a persistent id ``("storage", torch.FloatStorage,
    key, location, numel)`` naming the zip record ``data/<key>``. This unpickler builds a meta
    tensor of that size and dtype instead, and remembers where its bytes are. Only dicts and
    tensors are allowed (as with ``weights_only=True``): any other class stops it.

    ``torch.load(..., map_location="meta")`` cannot serve here: it reads every record's local
    header (one network request per tensor) unless the file was written by a recent torch.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.made: list[
            tuple[torch.Tensor, _StorageRef, int, tuple[int, ...], tuple[int, ...]]
        ] = []

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda data, requires_grad, hooks: data
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageKind(_STORAGE_DTYPES[name])
        raise _NotAlone(f"its pickle names {module}.{name}, which only a full load can rebuild")

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise _NotAlone(f"its pickle has an unknown persistent id {pid!r:.60}")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageKind):
            raise _NotAlone(f"its pickle has an unknown storage type {kind!r:.60}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        return _StorageRef(key, kind.dtype, int(numel))

    def _tensor(
        self,
        storage: _StorageRef,
        offset: int,
        size: Sequence[int],
        stride: Sequence[int],
        *_rest: Any,
    ) -> torch.Tensor:
        meta = torch.empty_strided(tuple(size), tuple(stride), dtype=storage.dtype, device="meta")
        self.made.append((meta, storage, int(offset), tuple(size), tuple(stride)))
        return meta


def _torch_zip_index(remote: RemoteFile) -> tuple[Any, _Loaders]:
    """The checkpoint as meta tensors, from a ``torch.save`` zip's directory and ``data.pkl``."""
    try:
        archive = zipfile.ZipFile(remote)  # type: ignore[arg-type]  # reads the directory at the end
    except zipfile.BadZipFile as e:
        raise _NotAlone(f"its zip directory is unreadable ({e})") from None
    names = archive.namelist()
    pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise _NotAlone("it is a zip, but not one written by torch.save (no single data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
        raise _NotAlone("it was written on a big-endian machine")
    unpickler = _SkeletonUnpickler(archive.read(pickles[0]))
    try:
        obj = unpickler.load()
    except _NotAlone:
        raise
    except Exception as e:  # a malformed pickle: let the full reader report it
        raise _NotAlone(f"its data.pkl could not be read alone ({type(e).__name__}: {e})") from None
    loaders: _Loaders = {
        id(meta): partial(
            _read_storage, remote, archive, f"{prefix}data/{ref.key}", ref, offset, size, stride
        )
        for meta, ref, offset, size, stride in unpickler.made
    }
    return obj, loaders


def _read_storage(
    remote: RemoteFile,
    archive: zipfile.ZipFile,
    record: str,
    ref: _StorageRef,
    offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
) -> torch.Tensor:
    # One request for the record: its local header (30 bytes, the name, an extra field that
    # torch.save pads to align the data to 64 bytes) and its bytes; zipfile then reads from that.
    entry = archive.getinfo(record)
    start = entry.header_offset
    remote.prefetch(
        start, start + 30 + len(entry.orig_filename.encode()) + 1024 + entry.compress_size
    )
    raw = archive.read(record)  # the CRC is checked
    itemsize = torch.empty((), dtype=ref.dtype).element_size()
    if len(raw) != ref.numel * itemsize:
        raise ValueError(
            f"{record} holds {len(raw)} bytes, the pickle promises {ref.numel} x {itemsize}"
        )
    flat = torch.frombuffer(bytearray(raw), dtype=ref.dtype)
    return flat.as_strided(size, stride, offset).clone()


def _index(remote: RemoteFile) -> tuple[Any, _Loaders]:
    """The remote checkpoint as meta tensors, and a loader for each, if its format allows."""
    if sys.byteorder != "little":
        raise _NotAlone("this machine is big-endian")
    remote.seek(0)
    head = remote.read(9)
    if head[:4] == b"PK\x03\x04":
        return _torch_zip_index(remote)
    header_len = int.from_bytes(head[:8], "little")
    if head[8:9] == b"{" and 2 <= header_len <= remote.size - 8:
        return _safetensors_index(remote, header_len)
    raise _NotAlone("it is neither a safetensors file nor a torch.save zip")


# ---- loading -------------------------------------------------------------------------------------

_Find = Callable[[dict[str, Any]], PosEmbedInfo]


@dataclass
class _Loaded:
    sd: dict[str, Any]
    wrapper: str | None
    info: PosEmbedInfo
    file: Path
    downloaded: int


def _file_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1] or "the file"


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n / 1e3:.0f} kB"


def _read_whole(path: Path, url: str, find: _Find, downloaded: int) -> _Loaded:
    try:
        _, sd, wrapper, _ = read_state_dict(path)
    except ValueError as e:
        path.unlink(missing_ok=True)  # a complete download of something unreadable: not kept
        raise ValueError(f"{url}: downloaded, but {e}; the file was not kept") from None
    return _Loaded(sd, wrapper, find(sd), path, downloaded)


def _fetch(
    url: str, find: _Find, folder: Path, name: str, progress: bool, timeout: float
) -> _Loaded:
    """Fetch the table alone if possible, else the whole file; cache what came."""
    whole = folder / name
    response = open_url(url, timeout=timeout, headers={"Range": f"bytes=0-{BLOCK - 1}"})
    span = content_range(response) if response.status == 206 else None
    if response.status == 206 and (span is None or span[0] != 0 or span[2] is None):
        response.close()  # a range we cannot use: ask for the whole file instead
        response = open_url(url, timeout=timeout)
    elif span is not None:
        size = span[2]
        first = read_exact(response, span[1] + 1, url)
        response.close()
        if len(first) >= size:  # the file fitted in one block: that was the whole file
            write_bytes(whole, first)
            return _read_whole(whole, url, find, len(first))
        remote = RemoteFile(response.geturl(), size, first, timeout=timeout)
        try:
            return _fetch_table(remote, url, find, folder / f"{name}.table.safetensors", progress)
        except (_NotAlone, RangesRefused) as e:
            _say(
                progress,
                f"the table cannot be read alone from {url} ({e}); downloading the whole file",
            )
            fetched = remote.fetched
        response = open_url(url, timeout=timeout)
        loaded = _read_whole_download(response, whole, url, find, progress)
        loaded.downloaded += fetched
        return loaded
    return _read_whole_download(response, whole, url, find, progress)


def _read_whole_download(
    response: Any, whole: Path, url: str, find: _Find, progress: bool
) -> _Loaded:
    desc = f"downloading {_file_name(url)}"
    got = save_response(response, whole, url, progress=progress, desc=desc)
    return _read_whole(whole, url, find, got)


def _fetch_table(remote: RemoteFile, url: str, find: _Find, path: Path, progress: bool) -> _Loaded:
    """Read the skeleton, find the table in it, fetch the table's bytes alone, keep them."""
    obj, loaders = _index(remote)
    if not isinstance(obj, dict):
        raise ValueError(
            f"{url}: expected a state dict (a dict of tensors), got {type(obj).__name__}"
        )
    sd, wrapper = _unwrap(obj)
    sd = dict(sd)
    key = find(sd).key  # the meta skeleton is enough to pick the table and read its grid
    sd[key] = loaders[id(sd[key])]()
    _save_table_cache(path, sd, wrapper, {key}, url)
    sd, wrapper, _ = _read_table_cache(path)  # read back as the next call will read it
    info = find(sd)  # with the real table now: the MAE rule looks at its class row
    _say(
        progress,
        f"{key} {tuple(sd[key].shape)}: fetched {_mb(remote.fetched)} of a "
        f"{_mb(remote.size)} file ({remote.requests} requests); kept in {path.parent}",
    )
    return _Loaded(sd, wrapper, info, path, remote.fetched)


def _load_url(url: str, find: _Find, folder: Path, progress: bool, timeout: float) -> _Loaded:
    name = _cache_name(url)
    table_file, whole = folder / f"{name}.table.safetensors", folder / name
    if table_file.is_file():
        sd, wrapper, stored = _read_table_cache(table_file)
        info = find(sd)
        if info.key in stored:
            return _Loaded(sd, wrapper, info, table_file, 0)
    if whole.is_file():
        _, sd, wrapper, _ = read_state_dict(whole)
        return _Loaded(sd, wrapper, find(sd), whole, 0)
    try:
        return _fetch(url, find, folder, name, progress, timeout)
    except OfflineError as e:
        file = _file_name(url)
        raise OfflineError(
            f"{e}. To work offline, download {file} where there is a network and pass its path, "
            f"load_pos_embed('/path/to/{file}'), or set VITLEARN_CACHE to a copy of a cache folder "
            f"where it was loaded before ({folder} has no copy)"
        ) from None


def _resolve(source: object) -> tuple[str | None, Checkpoint | None, str | None, Path | None]:
    """``(catalogue name, entry, url, path)`` for ``source``; exactly one of url and path is set."""
    if isinstance(source, os.PathLike):
        return None, None, None, Path(source)
    if not isinstance(source, str):
        raise TypeError(
            "source must be a path, an http(s) URL or a catalogue name, "
            f"got {type(source).__name__}"
        )
    if source in CATALOGUE:
        entry = CATALOGUE[source]
        return source, entry, entry.url, None
    if source.startswith(("http://", "https://")):
        return None, None, source, None
    path = Path(source).expanduser()
    if (
        path.exists()
        or "/" in source
        or os.sep in source
        or path.suffix in (".safetensors", *_TORCH_SUFFIXES)
    ):
        return None, None, None, path
    near = difflib.get_close_matches(source, CATALOGUE, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise ValueError(
        f"{source!r} is not a file, an http(s) URL or a catalogue name; {hint}"
        f"known names: {', '.join(CATALOGUE)}"
    )


def _as_table(t: torch.Tensor) -> torch.Tensor:
    """``(T, D)`` or ``(1, T, D)`` -> ``(1, T, D)`` float32, contiguous, without autograd
    history."""
    t = t.detach()
    return (t[None] if t.dim() == 2 else t).to(torch.float32).contiguous()


def load_pos_embed(
    source: str | os.PathLike[str],
    *,
    key: str | None = None,
    old_size: int | Sequence[int] | None = None,
    num_prefix_tokens: int | None = None,
    progress: bool = True,
    timeout: float = 10.0,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The position table of a ViT checkpoint: ``(table (1, T, D) float32, info)``.

    ``source`` is one of

    - a checkpoint file: ``.safetensors``, or a ``torch.save`` file (``.pth``, ``.pt``, ``.bin``),
      a plain state dict or one wrapped under ``model`` / ``state_dict`` (read by
      :func:`vitlearn.checkpoints.read_state_dict`, as the command line reads it);
    - an ``http(s)`` URL of such a file. Only the table is fetched when the file and the server
      allow it (see :mod:`vitlearn.checkpoints.remote`), else the whole file, with a progress bar.
      What came is kept in the cache folder (``cache_dir``, else ``$VITLEARN_CACHE``, else
      ``~/.cache/vitlearn``, under a name made from the URL) and read from there next time, with no
      network;
    - a name from :data:`CATALOGUE` (its URL). The table must then have the entry's shape and
      naming, or a ``ValueError`` says that the file has changed. The names, their licences and
      tables:

      =============================================  ==========  ================  ======
      name                                           licence     table             naming
      =============================================  ==========  ================  ======
      ``vit_base_patch16_224.augreg_in21k``          Apache-2.0  (1, 197, 768)     timm
      ``vit_base_patch16_224.augreg_in21k_ft_in1k``  Apache-2.0  (1, 197, 768)     timm
      ``deit_small_patch16_224.fb_in1k``             Apache-2.0  (1, 197, 384)     timm
      ``facebook/deit-small-patch16-224``            Apache-2.0  (1, 197, 384)     hf
      ``dinov2_vits14``                              Apache-2.0  (1, 1370, 384)    dinov2
      ``dinov2_vits14_reg4``                         Apache-2.0  (1, 1370, 384)    dinov2
      =============================================  ==========  ================  ======

      The first four are on the Hugging Face Hub (timm's copies of Google's AugReg ViT and of
      Meta's DeiT, and transformers' DeiT; licences as on their model cards), the DINOv2 files on
      Meta's download server (licence: the DINOv2 repository's README and LICENSE).

    ``key``, ``old_size`` and ``num_prefix_tokens`` are as in
    :func:`vitlearn.checkpoints.find_pos_embed` (for unusual names, non-square grids, unaccounted
    prefix rows). ``progress=False`` prints nothing. ``timeout`` bounds each network step: offline,
    a URL fails within it with :class:`OfflineError`, whose message says how to work offline
    (:func:`online` asks first).

    ``info`` holds ``key`` (the state-dict key of the table), ``grid_size`` ``(rows, cols)``,
    ``num_prefix_tokens`` (rows before the grid: class, distillation, register tokens),
    ``prefix_names``, ``format`` (the naming: ``"timm"``, ``"hf"``, ``"mae"``, ``"dinov2"`` or
    ``"unknown"``, see :data:`vitlearn.checkpoints.FORMATS`), ``patch_size`` (from the patch
    kernel, or None), ``shape`` (of ``table``), ``wrapper`` (the key the state dict sat under, or
    None), ``source``, ``name`` and ``licence`` (catalogue entries; else None), ``url`` (None for
    a local file), ``file`` (the local file read: yours, or the cached one) and
    ``downloaded_bytes`` (what this call fetched; 0 from the cache).

    >>> table, info = load_pos_embed("dinov2_vits14", progress=False)  # doctest: +SKIP
    >>> table.shape, info["grid_size"], info["format"]  # doctest: +SKIP
    (torch.Size([1, 1370, 384]), (37, 37), 'dinov2')
    """
    name, entry, url, path = _resolve(source)
    find = partial(find_pos_embed, key=key, old_size=old_size, num_prefix_tokens=num_prefix_tokens)
    if path is not None:
        _, sd, wrapper, _ = read_state_dict(path)
        loaded = _Loaded(sd, wrapper, find(sd), path, 0)
    else:
        assert url is not None
        seconds = check_number(timeout, "timeout (in seconds)", above=0.0)
        loaded = _load_url(url, find, _cache_folder(cache_dir), progress, seconds)
    info = loaded.info
    table = _as_table(loaded.sd[info.key])
    if entry is not None and (tuple(table.shape) != entry.shape or info.format != entry.format):
        raise ValueError(
            f"catalogue entry {name!r} promises a {entry.format}-named table of shape "
            f"{entry.shape}, "
            f"but {url} gave a {info.format}-named one of shape {tuple(table.shape)} ({info.key}): "
            "the file has changed; pass the URL itself to load it anyway"
        )
    return table, {
        "key": info.key,
        "grid_size": info.grid_size,
        "num_prefix_tokens": info.num_prefix_tokens,
        "prefix_names": info.prefix_names,
        "format": info.format,
        "patch_size": info.patch_size,
        "shape": tuple(table.shape),
        "wrapper": loaded.wrapper,
        "source": str(source),
        "name": name,
        "licence": entry.licence if entry else None,
        "url": url,
        "file": str(loaded.file),
        "downloaded_bytes": loaded.downloaded,
    }


def online(url: str = "https://huggingface.co", *, timeout: float = 3.0) -> bool:
    """Whether ``url``'s server answers within ``timeout`` seconds (one HEAD request).

    Any HTTP answer counts. For a notebook cell that uses a real checkpoint when it can::

        if vitlearn.online():
            table, info = vitlearn.load_pos_embed("vit_base_patch16_224.augreg_in21k")
        else:
            print("offline: using the course's own model instead")
    """
    return reachable(url, timeout=timeout)
