"""Retrieval quality of paper vectors on the evaluation papers; measured, not asserted.

    .venv/bin/python -m benchmarks.retrieval [EVAL_DIR] [--json out/retrieval.json]

Runs the core pipeline (`paperflow.pipeline.extract_paper`, no Prefect) over every `<id>.pdf`,
indexes the papers in a temporary vector store with the configured embedder
(`PAPERFLOW_EMBEDDINGS_BACKEND`, WordLlama by default), then reports:

- recall@1 and mean rank when each paper's ground-truth abstract (`gt.abstract` of
  `<id>.gt.json`) is the query (`search` scoring: the best of paper vector and passages), and
  the same with the paper vector alone and with the ground-truth title as the query;
- same field: how often the NLP papers (V07, V08, V09, V14, V15, V20) are closer to each other
  than to the biology/medicine ones (V21, V22, V26, V27, V28, V33), and the reverse, over every
  (paper, same-field paper, other-field paper) triple, with the `similar` scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PAPERFLOW_DATA_DIR", tempfile.mkdtemp(prefix="paperflow-retrieval-"))

from paperflow.embeddings import embed_paper, embed_query, get_embedder, paper_text_from_pdf  # noqa: E402
from paperflow.settings import get_settings  # noqa: E402
from paperflow.vectors import LocalVectorStore, StoredPaper  # noqa: E402

EVAL_DIR = ROOT.parent / "shared" / "eval"
NLP = ("V07", "V08", "V09", "V14", "V15", "V20")
BIO = ("V21", "V22", "V26", "V27", "V28", "V33")


def rank_of(store: LocalVectorStore, query: np.ndarray, sha: str, passages: bool) -> int:
    hits = store.search(query, 10_000) if passages else store.similar_vector(query, 10_000)
    return next(h.rank for h in hits if h.sha256 == sha)


def summary(ranks: list[int]) -> dict[str, float]:
    return {"recall@1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
            "recall@3": round(sum(r <= 3 for r in ranks) / len(ranks), 3),
            "mean_rank": round(float(np.mean(ranks)), 2),
            "mrr": round(float(np.mean([1 / r for r in ranks])), 3)}


def same_field(papers: dict[str, StoredPaper], group: tuple[str, ...],
               others: tuple[str, ...]) -> dict[str, float]:
    """Triples (p, q in p's field, o in the other) with cos(p, q) > cos(p, o); means too."""
    wins = total = 0
    within: list[float] = []
    across: list[float] = []
    all_above = 0
    for p in group:
        mine = [float(papers[p].vector @ papers[q].vector) for q in group if q != p]
        theirs = [float(papers[p].vector @ papers[o].vector) for o in others]
        within += mine
        across += theirs
        wins += sum(m > t for m in mine for t in theirs)
        total += len(mine) * len(theirs)
        all_above += min(mine) > max(theirs)
    return {"pairwise": round(wins / total, 3), "papers_with_every_peer_above": all_above,
            "papers": len(group), "mean_cos_same_field": round(float(np.mean(within)), 3),
            "mean_cos_other_field": round(float(np.mean(across)), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", default=str(EVAL_DIR))
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)
    directory = Path(args.directory)
    settings = get_settings()
    embedder = get_embedder(settings)
    store = LocalVectorStore(Path(tempfile.mkdtemp(prefix="paperflow-vectors-")), embedder.model)
    truth: dict[str, dict] = {}
    shas: dict[str, str] = {}
    extract_seconds = embed_seconds = 0.0
    for pdf in sorted(directory.glob("*.pdf")):
        gt_path = pdf.with_name(pdf.stem + ".gt.json")
        if not gt_path.is_file():
            continue
        paper_id = pdf.stem.split("_", 1)[0]
        truth[paper_id] = json.loads(gt_path.read_text())["gt"]
        start = time.perf_counter()
        paper = paper_text_from_pdf(pdf.read_bytes(), settings, source=pdf.name)
        extract_seconds += time.perf_counter() - start
        start = time.perf_counter()
        vectors = embed_paper(embedder, paper.title, paper.abstract, paper.page_texts, settings)
        embed_seconds += time.perf_counter() - start
        store.add(paper.sha256, vectors, {**paper.metadata, "id": paper_id})
        shas[paper_id] = paper.sha256
        print(f"  indexed {paper_id}: {len(vectors.passages)} passages", file=sys.stderr)

    by_id = {p.metadata["id"]: p for p in store.all()}
    queries = {pid: gt for pid, gt in truth.items() if (gt.get("abstract") or "").strip()}
    abstract_vectors = {pid: embed_query(embedder, gt["abstract"]) for pid, gt in queries.items()}
    title_vectors = {pid: embed_query(embedder, gt["title"]) for pid, gt in truth.items()
                     if gt.get("title")}
    results = {
        "model": embedder.model, "dim": embedder.dim, "papers": len(shas),
        "seconds_per_paper": {"extract": round(extract_seconds / max(1, len(shas)), 3),
                              "embed": round(embed_seconds / max(1, len(shas)), 3)},
        "abstract_query_search": summary([rank_of(store, v, shas[p], True)
                                          for p, v in abstract_vectors.items()]),
        "abstract_query_paper_vector": summary([rank_of(store, v, shas[p], False)
                                                for p, v in abstract_vectors.items()]),
        "title_query_search": summary([rank_of(store, v, shas[p], True)
                                       for p, v in title_vectors.items()]),
        "title_query_paper_vector": summary([rank_of(store, v, shas[p], False)
                                             for p, v in title_vectors.items()]),
    }
    missed = [p for p, v in abstract_vectors.items() if rank_of(store, v, shas[p], True) != 1]
    results["abstract_query_search_missed"] = missed
    if all(p in by_id for p in NLP + BIO):
        results["same_field_nlp"] = same_field(by_id, NLP, BIO)
        results["same_field_bio"] = same_field(by_id, BIO, NLP)
        results["nlp_similar_top5"] = {
            p: [h.metadata.get("id") for h in store.similar(shas[p], 5)] for p in NLP}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
