"""snnc.bench.quantization on the bundled example: runs every configuration, writes JSON + Markdown."""

from __future__ import annotations

import json

from snnc.bench.quantization import CONFIGS, main


def test_bench_writes_table(tmp_path, repo_root):
    js, md = tmp_path / "q.json", tmp_path / "q.md"
    model = repo_root / "models" / "examples" / "tiny_recurrent.snn"
    assert main([str(model), "--calib", "8", "--test", "16", "--json", str(js),
                 "--md", str(md)]) == 0
    doc = json.loads(js.read_text())
    rows = doc["results"][0]["configs"]
    assert list(rows) == [name for name, _ in CONFIGS]
    for name, row in rows.items():
        assert row["ram_bytes"] > 0 and row["flash_bytes"] > 0
        assert (name == "float") == ("agreement" not in row)
    text = md.read_text()
    assert "| int8 |" in text and "tiny_recurrent" in text
    # --render rebuilds the same Markdown from the JSON alone
    md2 = tmp_path / "q2.md"
    assert main(["--render", "--json", str(js), "--md", str(md2)]) == 0
    assert md2.read_text() == text
