"""Markdown tables for results_scierc_ablation.md from the run folders that
scierc_ablation.sh and scierc_ablation_eval.py write: per run the dev scores
of model-best, the oracle-entity and threshold diagnostics, the training
curve, wall/CPU time and the load average seen while it ran.

python scierc_ablation_table.py RUNS_DIR RUN [RUN ...]
"""
import json
import re
from pathlib import Path
from typing import List

import typer

ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+" + r"([\d.]+)\s+" * 3 + r"([\d.]+)\s+" * 3 + r"([\d.]+)\s+" * 4 + r"([\d.]+)\s*$")


def curve(log: Path) -> List[List[float]]:
    rows = []
    for line in log.read_text(encoding="utf8", errors="replace").splitlines():
        m = ROW.match(line)
        if m:
            rows.append([float(x) for x in m.groups()])
    return rows


def time_field(text: str, name: str) -> str:
    for line in text.splitlines():
        if name in line:
            return line.split(": ", 1)[1].strip()
    return "?"


def loads(path: Path) -> str:
    if not path.exists():
        return "?"
    ones = []
    for line in path.read_text(encoding="utf8").splitlines():
        m = re.search(r"load average: ([\d.]+),", line)
        if m:
            ones.append(float(m.group(1)))
    return f"{min(ones):.1f}-{max(ones):.1f} (mean {sum(ones) / len(ones):.1f})" if ones else "?"


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def main(runs_dir: Path, runs: List[str]) -> None:
    print("| run | strict F | P | R | boundary F | entity F (P / R) | oracle-entity F (P / R) | wall | CPU (user+sys) | peak RSS | load avg 1 min while running | dev words/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        d = runs_dir / run
        ev = json.loads((d / "eval.json").read_text()) if (d / "eval.json").exists() else None
        t = (d / "time.txt").read_text() if (d / "time.txt").exists() else ""
        cpu = "?"
        try:
            cpu = f"{float(time_field(t, 'User time')) + float(time_field(t, 'System time')):.0f} s"
        except ValueError:
            pass
        rss = time_field(t, "Maximum resident")
        rss = f"{int(rss) / 1024:.0f} MB" if rss.isdigit() else "?"
        if ev:
            s, o = ev["scores"], ev["oracle_entities"]
            print(f"| {run} | {pct(s['relations_micro_f'])} | {pct(s['relations_micro_p'])} | {pct(s['relations_micro_r'])} | "
                  f"{pct(s['relations_boundary_f'])} | {pct(s['spans_sc_f'])} ({pct(s['spans_sc_p'])} / {pct(s['spans_sc_r'])}) | "
                  f"{pct(o['relations_micro_f'])} ({pct(o['relations_micro_p'])} / {pct(o['relations_micro_r'])}) | "
                  f"{time_field(t, 'Elapsed')} | {cpu} | {rss} | {loads(d / 'uptime.log')} | {s['speed']:.0f} |")
        else:
            print(f"| {run} | (no eval) | | | | | | {time_field(t, 'Elapsed')} | {cpu} | {rss} | {loads(d / 'uptime.log')} | |")
    print()
    print("Threshold diagnostic (dev-optimistic: thresholds chosen on the dev set they are scored on; gold tokens):")
    print()
    print("| run | entities | decoding threshold | F at it | best single threshold | F at it | F, per-predicate thresholds | gold triples among candidates |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        path = runs_dir / run / "eval.json"
        if not path.exists():
            continue
        ev = json.loads(path.read_text())
        for key, name in (("thresholds_predicted_entities", "predicted"), ("thresholds_oracle_entities", "gold")):
            a = ev[key]
            print(f"| {run} | {name} | {a['decoding_threshold']:.3g} | {pct(a['at_decoding_threshold']['f'])} | "
                  f"{a['best_single_threshold']:.3g} | {pct(a['at_best_single']['f'])} | {pct(a['at_per_predicate']['f'])} | "
                  f"{a['gold_reachable_in_candidates']} / {a['gold_triples']} |")
    for key, title in (("by_gap_at_best_single", "token gap between head and tail span"),
                       ("by_boundary_distance_at_best_single", "max distance between the boundary tokens GPLinker scores")):
        print()
        print(f"Gold entities, by {title}: AUC of gold vs wrong candidate triples (threshold-free); recall at the best single threshold in brackets")
        print()
        buckets = None
        for run in runs:
            path = runs_dir / run / "eval.json"
            if not path.exists() or key not in json.loads(path.read_text())["thresholds_oracle_entities"]:
                continue
            rows = json.loads(path.read_text())["thresholds_oracle_entities"][key]
            name = [k for k in rows[0] if k not in ("gold", "wrong_candidates", "recall", "precision", "auc")][0]
            if buckets is None:
                buckets = [r[name] for r in rows]
                print("| run | " + " | ".join(f"{b} ({r['gold']} gold)" for b, r in zip(buckets, rows)) + " |")
                print("|---|" + "---|" * len(buckets))
            print(f"| {run} | " + " | ".join(
                "-" if r["auc"] is None else f"{r['auc']:.3f} ({pct(r['recall'])})" for r in rows) + " |")
    print()
    print("Curves (dev, every 250 steps), step: strict F (P / R) / boundary F / entity F")
    print()
    for run in runs:
        if not (runs_dir / run / "train.log").exists():
            continue
        rows = curve(runs_dir / run / "train.log")
        print(f"- {run}: " + "; ".join(f"{int(r[1])}: {r[8]:.1f} ({r[9]:.1f} / {r[10]:.1f}) / {r[11]:.1f} / {r[5]:.1f}" for r in rows))


if __name__ == "__main__":
    typer.run(main)
