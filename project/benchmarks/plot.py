"""f1_vs_train_time.png: dev F1 against training CPU time, one panel per data set."""
from pathlib import Path
from typing import Any, Dict, List

from systems import DATASETS
from report import label, main_runs


def write_plot(results: Dict[str, List[Dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = "osD^v<>pP*hX"
    names = list(dict.fromkeys(r["system"] for rows in results.values() for r in rows))
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], results.items()):
        for r in main_runs(rows):
            i = names.index(r["system"])
            target = r["targets"][0]
            f1 = 100 * r["measure"]["scores"][target]["overall"]["f"]
            ax.plot(r["train"]["cpu_seconds"] / 60, f1, linestyle="none", marker=markers[i % len(markers)],
                    color=f"C{i % 10}", markersize=9, label=label(r, target) if len(r["targets"]) == 1 else f"{r['system']} ({target})")
        ax.set_title(DATASETS[name].title if name in DATASETS else name)
        ax.set_xlim(left=0)
        ax.ticklabel_format(axis="both", style="plain", useOffset=False)
        ax.set_xlabel("training time (CPU min)")
        ax.set_ylabel("dev F1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------- main
