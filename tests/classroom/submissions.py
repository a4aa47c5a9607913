"""What the tests hand in for the nbgrader edition: each assignment's typical mistake, and more.

Shared by ``test_nbgrader.py`` (where the real nbgrader grades some of them) and
``test_mistakes.py`` (plain pytest: every one of them, through the edition's graded cells,
without nbgrader). Not a test module.
"""

from __future__ import annotations

from vitlearn.editions.nbgrader import BEGIN_SOLUTION, END_SOLUTION

AUTOGRADE_SECONDS: dict[str, float] = {}
"""How long nbgrader took to autograde each assignment (filled by ``test_nbgrader.py``, printed at
the end of the run by ``conftest.py``)."""

# One typical mistake per assignment: (the function, its wrong version) or ("quiz", wrong letters).
# Each wrong function keeps the stub's signature and uses only the notebook's imports.
MISTAKES: dict[str, tuple[str, str]] = {
    "01_patches": (
        "fixed_patchify",
        "def fixed_patchify(images, p):\n"
        "    B, C = images.shape[:2]\n"
        "    width, height = images.shape[-2:]  # patchify_fast's bug, left in\n"
        "    rows, cols = height // p, width // p\n"
        "    x = images.reshape(B, C, rows, p, cols, p)\n"
        "    x = x.permute(0, 2, 4, 3, 5, 1)\n"
        "    return x.reshape(B, rows * cols, p * p * C)\n",
    ),
    "02_patch_embedding": (
        "predict_conversions",
        "def predict_conversions():\n"
        "    # the plain reshape (a) predicted right: (C, P, P) order kept, channel first\n"
        "    return {'a': True, 'b': True, 'c': False, 'd': True, 'e': False}\n",
    ),
    "03_why_position": (
        "predict_shuffle",
        "def predict_shuffle():\n"
        "    # with learned codes the attention changes, but the class output is predicted the "
        "same\n"
        "    return {'none': {'attention': 'permuted', 'patch_outputs': 'permuted', "
        "'class_output': 'same'},\n"
        "            'learned': {'attention': 'changed', 'patch_outputs': 'changed', "
        "'class_output': 'same'}}\n",
    ),
    "04_position_embeddings": (
        "my_sincos_2d",
        "def my_sincos_2d(grid_size, dim):\n"
        "    rows, cols = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size\n"
        "    f = dim // 4\n"
        "    w = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / f)\n"
        "    y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing='ij')\n"
        "    ax, ay = x.reshape(-1, 1) * w, y.reshape(-1, 1) * w\n"
        "    return torch.cat([ay.sin(), ay.cos(), ax.sin(), ax.cos()], dim=1).float()"
        "  # y first\n",
    ),
    "05_train_tiny_vit": (
        "count_parameters",
        "def count_parameters(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, "
        "num_classes):\n"
        "    d, n, hidden = embed_dim, (img_size // patch_size) ** 2, int(embed_dim * mlp_ratio)\n"
        "    patch = d * in_chans * patch_size * patch_size + d\n"
        "    tokens = d + n * d  # the position table without the class token's row\n"
        "    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + "
        "(hidden * d + d)\n"
        "    return patch + tokens + depth * block + 2 * d + (d * num_classes + num_classes)\n",
    ),
    "06_interpolating_positions": (
        "my_resize_if_needed",
        "def my_resize_if_needed(pos_embed, old_size, new_size, num_prefix_tokens=1):\n"
        "    # 'already fits' judged by the token count: a 16 x 8 table passes for 8 x 16\n"
        "    if pos_embed.shape[1] == num_prefix_tokens + new_size[0] * new_size[1]:\n"
        "        return pos_embed\n"
        "    return resample_pos_embed(\n"
        "        pos_embed, new_size, old_size=old_size, num_prefix_tokens=num_prefix_tokens\n"
        "    )\n",
    ),
    "07_flexible_patch_size": (
        "my_resize_matrix",
        "def my_resize_matrix(old_size, new_size):\n"
        "    n = old_size[0] * old_size[1]\n"
        "    basis = torch.eye(n).reshape(n, 1, *old_size)\n"
        "    resized = F.interpolate(basis, size=tuple(new_size), mode='bicubic')  # no antialias\n"
        "    return resized.reshape(n, -1).T\n",
    ),
    "08_putting_it_together": ("quiz", "question 3 answered wrong, the others right"),
    "09_any_resolution": (
        "my_naflex_size",
        "def my_naflex_size(height, width, patch_size, max_patches):\n"
        "    # one-shot square-root scale, sides rounded up: over the budget for most shapes\n"
        "    s = (max_patches / ((height / patch_size) * (width / patch_size))) ** 0.5\n"
        "    rows = max(1, int(np.ceil(height * s / patch_size)))\n"
        "    cols = max(1, int(np.ceil(width * s / patch_size)))\n"
        "    return rows * patch_size, cols * patch_size\n",
    ),
    "10_positions_in_the_wild": (
        "my_mrope_ids",
        "def my_mrope_ids(segments):\n"
        "    # image tokens numbered like text: one id per token, the same on all three axes\n"
        "    sizes = [n if kind == 'text' else n[0] * (n[1] // 2) * (n[2] // 2)\n"
        "             for kind, n in segments]\n"
        "    return torch.arange(sum(sizes)).expand(3, sum(sizes))\n",
    ),
}

# A correct my_sincos_2d that raises torch's UserWarning (meshgrid without `indexing`).
WARNING_ANSWER = (
    "def my_sincos_2d(grid_size, dim):\n"
    "    rows, cols = (grid_size, grid_size) if isinstance(grid_size, int) else grid_size\n"
    "    f = dim // 4\n"
    "    w = 10000.0 ** (-torch.arange(f, dtype=torch.float64) / f)\n"
    "    y, x = torch.meshgrid(torch.arange(rows), torch.arange(cols))  # warns: no indexing\n"
    "    ax, ay = x.reshape(-1, 1) * w, y.reshape(-1, 1) * w\n"
    "    return torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=1).float()\n"
)


QUIZ_WRONG_QUESTION = 3
"""The question the quiz's typical mistake gets wrong."""


def quiz_with_one_mistake(key: dict[int, str]) -> dict[int, str]:
    """The quiz's key with question :data:`QUIZ_WRONG_QUESTION` answered wrong."""
    wrong = next(letter for letter in "abcd" if letter != key[QUIZ_WRONG_QUESTION])
    return {**key, QUIZ_WRONG_QUESTION: wrong}


def without_markers(source: str) -> str:
    """The teacher's version of an answer cell: nbgrader's solution markers out, the code in."""
    return "\n".join(
        line for line in source.split("\n") if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )
