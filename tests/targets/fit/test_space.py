"""The search space: grids, seeded samples, pinned dimensions, cache keys."""

from __future__ import annotations

import pytest

from snnc.compiler.errors import SnncError
from snnc.targets.fit.space import (
    Dimension,
    SearchSpace,
    c_target_dims,
    compile_options,
    config_hash,
    point_key,
)


def _space() -> SearchSpace:
    return SearchSpace("host", c_target_dims(), costs=("ram",), measure="plan")


def test_grid_merges_inactive_prune_scope_and_starts_with_default():
    s = _space()
    g = s.grid()
    assert g[0] == s.default()
    keys = [point_key(p) for p in g]
    assert len(keys) == len(set(keys))
    # prune_scope only matters when prune > 0: 1 of 4 prune levels has one scope.
    n_other = s.size() // (4 * 2)
    assert len(g) == n_other * (1 + 3 * 2)
    assert all(p["prune_scope"] == "global" for p in g if p["prune"] == 0.0)


def test_sample_is_seeded_distinct_and_contains_default():
    s = _space()
    a, b, c = s.sample(20, seed=3), s.sample(20, seed=3), s.sample(20, seed=4)
    assert a == b and a != c
    assert a[0] == s.default() and len({point_key(p) for p in a}) == 20


def test_restrict_pins_and_rejects_unknown():
    s = _space().restrict({"quantize": "int16", "pow2": True})
    assert {p["quantize"] for p in s.grid()} == {"int16"}
    assert all(p["pow2"] is True for p in s.grid())
    with pytest.raises(SnncError, match="unknown dimension"):
        _space().restrict({"bogus": 1})
    with pytest.raises(SnncError, match="takes"):
        _space().restrict({"quantize": "int3"})


def test_default_must_be_a_choice():
    with pytest.raises(SnncError, match="default"):
        Dimension("q", ("a", "b"), "c")


def test_config_hash_depends_on_every_part():
    ctx = {"models": {"base": "h"}, "data": "d"}
    p = {"quantize": "int8"}
    h = config_hash(ctx, p, "acc@10")
    assert h == config_hash(dict(ctx), dict(p), "acc@10")
    assert h != config_hash(ctx, p, "acc@11")
    assert h != config_hash({**ctx, "data": "e"}, p, "acc@10")
    assert h != config_hash(ctx, {"quantize": "int4"}, "acc@10")


def test_compile_options_maps_storage_and_bits():
    o = compile_options({"quantize": "int4", "state_bits": 32, "storage": "event",
                         "prune": 0.5, "prune_scope": "layer"}, "host", None)
    assert (o.quantize, o.state_bits, o.storage_threshold, o.prune, o.prune_scope) == \
        ("int4", 32, 1.0, 0.5, "layer")
    assert compile_options({"storage": "dense"}, "host", None).storage_threshold == 0.0
