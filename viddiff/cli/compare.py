"""`viddiff compare`: decide between two prompt or program variants with paired evidence."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from viddiff.cli import COMMANDS
from viddiff.errors import ViddiffError

if TYPE_CHECKING:
    from viddiff.evaluation import RunComparison


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "compare",
        help=COMMANDS["compare"].help,
        description=(
            "Compare scored runs of one mode on one benchmark, pairing the differences both runs scored "
            "(same sample, same difference) from their outcomes. Prints both scores per split and action, "
            "the paired counts, the score gap A-B with a bootstrap interval that resamples whole samples, "
            "and a verdict at the 5% level from a sample-level test: an exact sign-flip permutation test "
            "over the per-sample gaps, since the differences of one sample share videos and answers "
            "(McNemar's test on single differences is shown for reference only). Then how the runs' "
            "configs and compiled instructions differ. "
            "With more than two runs, each is compared with the first."
        ),
        epilog=(
            "examples:\n"
            "  viddiff compare runs/easy-closed runs/easy-closed-compiled\n"
            "  viddiff compare runs/base runs/variant-1 runs/variant-2 --out comparison.json\n"
            "  viddiff compare runs/base runs/variant --bootstrap 20000 --seed 1"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", metavar="RUN_A", help="scored run directory: the baseline A")
    parser.add_argument("others", metavar="RUN_B", nargs="+", help="scored run directory compared with A (repeatable)")
    parser.add_argument("--bootstrap", type=int, default=10_000, metavar="N", help="bootstrap resamples (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--out", metavar="FILE", help="also write the comparison as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from viddiff.evaluation import compare_runs

    if args.bootstrap < 1:
        raise ViddiffError(f"--bootstrap must be at least 1, got {args.bootstrap}")
    comparisons = [compare_runs(args.run_a, other, samples=args.bootstrap, seed=args.seed) for other in args.others]
    print("\n\n".join(format_comparison(c) for c in comparisons))
    if len(comparisons) > 1:
        print(f"\nnote: {len(comparisons)} comparisons with {args.run_a}; the p-values are not adjusted for multiple comparisons")
    if args.out:
        document = {"baseline": args.run_a, "comparisons": [c.to_dict() for c in comparisons]}
        try:
            Path(args.out).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as e:
            raise ViddiffError(f"{args.out}: cannot write the comparison ({e.strerror})") from e
        print(f"\nwrote {args.out}")
    return 0


def format_comparison(comparison: RunComparison) -> str:
    """The comparison of one run with the baseline, as text."""
    outcomes, stats = comparison.outcomes, comparison.stats
    metric = "accuracy" if outcomes.mode == "closed" else "recall@N_diff"
    unpaired = f"; scored only in A: {outcomes.only_a}, only in B: {outcomes.only_b}" if outcomes.only_a or outcomes.only_b else ""
    lines = [
        f"A: {comparison.run_a}   (program: {comparison.program_a})",
        f"B: {comparison.run_b}   (program: {comparison.program_b})",
        f"{outcomes.mode} set, {metric} in percent over the {stats.n} differences scored in both runs{unpaired}",
    ]
    for title, groups in (("split", comparison.splits), ("action", comparison.actions)):
        width = max([len(title), *map(len, groups)]) + 2
        lines.append(f"\n{title:<{width}} {'A':>7} {'B':>7} {'n':>6}")
        lines += [f"{name:<{width}} {100 * g.score_a:>7.1f} {100 * g.score_b:>7.1f} {g.n:>6}" for name, g in groups.items()]
    interval = (
        f"{stats.confidence:.0%} CI [{_points(stats.low)}, {_points(stats.high)}]"
        if not math.isnan(stats.low)
        else "no interval (fewer than two samples to resample)"
    )
    lines += [
        "",
        f"{'paired differences':<20} {stats.n:>6}",
        f"{'both right':<20} {stats.both_right:>6}",
        f"{'A right, B wrong':<20} {stats.a_only:>6}",
        f"{'A wrong, B right':<20} {stats.b_only:>6}",
        f"{'both wrong':<20} {stats.neither:>6}",
        f"samples where A did better: {stats.samples_a_better}, B did better: {stats.samples_b_better}, tied: {stats.samples_tied}",
        f"sample-level permutation test p = {stats.p_value:.3g}   (McNemar on single differences, for reference only: p = {stats.p_mcnemar_differences:.3g})",
        f"{metric} gap A-B: {_points(stats.gap)} points, {interval} "
        f"(cluster bootstrap over {stats.clusters} samples, {stats.resamples} resamples, seed {stats.seed})",
        f"verdict: {comparison.verdict}",
        "",
        "config differences (A -> B):",
    ]
    lines += [f"  {d.key}: {json.dumps(d.value_a)} -> {json.dumps(d.value_b)}" for d in comparison.config_differences] or ["  none"]
    lines.append("instruction differences (A -> B):")
    for d in comparison.instruction_differences:
        changes = [f"demos {_count(d.demos_a)} -> {_count(d.demos_b)}"]
        if d.fields_differ:
            changes.append("field prefixes or descriptions differ")
        lines.append(f"  {d.predictor} ({'; '.join(changes)})")
        if d.instructions_a != d.instructions_b:
            lines += [_indented("A", d.instructions_a), _indented("B", d.instructions_b)]
    if not comparison.instruction_differences:
        lines.append("  none")
    return "\n".join(lines)


def _points(fraction: float) -> str:
    return "-" if math.isnan(fraction) else f"{100 * fraction:+.1f}"


def _count(demos: int | None) -> str:
    return "n/a" if demos is None else str(demos)


def _indented(label: str, text: str) -> str:
    first, *rest = text.splitlines() or [""]
    return "\n".join([f"    {label}: {first}", *(f"       {line}" for line in rest)])
