"""`zfjl render` speed: every document of a 20-document case file, one PDF/A each.

    .venv/bin/python bench/render_bench.py

The demolition sample case (its footage generated and ingested first) holds 13 documents with
templates plus 4 case-file parts; three more receipts are added to reach 20 documents.
Targets (issue #4, 2-core machine): ≤ 1 s per document; a 20-document case file ≤ 10 s.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from zfjl.cases.io import read_case_file  # noqa: E402
from zfjl.cases.store import get_case, import_case  # noqa: E402
from zfjl.ingest import ingest  # noqa: E402
from zfjl.render import render_case  # noqa: E402
from zfjl.sample import make_case_dump  # noqa: E402
from zfjl.vault import Vault  # noqa: E402


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="zfjl-render-bench-"))
    try:
        make_case_dump(work / "dump")
        with Vault.create(work / "vault") as vault:
            ingest(vault, work / "dump")
            case = read_case_file(HERE.parent / "zfjl/checklists/samples/demolition.yaml")
            extra = [{**d, "id": f"{d['id']}-copy{i}"} for i, d in enumerate(
                d for d in case["documents"] if d["type"] == "送达回证")][:3]  # fmt: skip
            case["documents"] += extra
            import_case(vault, case)
            n_docs = len(get_case(vault, case["case"])["documents"])
            start = time.perf_counter()
            paths = render_case(vault, case["case"], work / "out")
            total = time.perf_counter() - start
        per_doc = total / len(paths)
        print(
            f"案件文书 {n_docs} 份，制作 PDF {len(paths)} 个：共 {total:.2f} s，平均 {per_doc:.3f} s/份"
        )
        print(f"  每份 ≤ 1 s：{'达标' if per_doc <= 1 else '未达标'}；"
              f"20 份案卷 ≤ 10 s：{'达标' if total * 20 / len(paths) <= 10 else '未达标'}"
              f"（折合 20 份 {total * 20 / len(paths):.2f} s）")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
