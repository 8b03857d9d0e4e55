"""viddiff's systems as an lmms-eval model, registered through the `lmms_eval.models` entry point:

    lmms-eval --model viddiff --model_args system=viddiff,lm=openai/gpt-4o-2024-08-06,program=PROGRAM.json \\
        --tasks viddiff_closed --include_path "$(viddiff export --task-dir)" --log_samples --output_path logs

`model_args` are `viddiff run`'s options with `_` for `-` (system, preset, config, lm, api_base,
program, localization, clip_model, sample_threads, ...; a flag takes `true`), plus `out`: the
run directory the documents' records go to (default runs/<time>-lmms-eval-<task>; an existing
one is resumed, so an interrupted lmms-eval run redoes nothing finished). Each document's reply
is the row of predictions viddiff writes (`viddiff.harness.documents`), which the viddiff tasks
score with viddiff's own scorer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lmms_eval.api.model import lmms

from viddiff.config import RunConfig
from viddiff.errors import ViddiffError
from viddiff.harness.documents import doc_mode, doc_sample, doc_source, doc_video_root


os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no price-table download, as `viddiff` itself


class ModelArgsError(ViddiffError):
    """lmms-eval's --model_args for viddiff are not `viddiff run` options."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ModelArgsError(f"--model_args: {message}")


def config_from_model_args(model_args: Mapping[str, Any], device: str | None = None) -> RunConfig:
    """The RunConfig that `model_args` ask for; lmms-eval's `--device` is CLIP's device unless
    `clip_device` is given."""
    from viddiff.cli.options import add_program_options, build_config, config_type

    parser = _Parser(prog="lmms-eval --model viddiff --model_args", add_help=False)
    add_program_options(parser)
    parser.add_argument("--sample-threads", type=config_type(RunConfig, "sample_threads"))
    argv = []
    for key, value in model_args.items():
        flag = "--" + str(key).replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not False and value is not None:
            argv += [flag, str(value)]
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise ModelArgsError(f"--model_args: unknown {' '.join(a for a in unknown if a.startswith('--'))}; they are `viddiff run` options, with _ for -")
    if device and getattr(args, "clip_device", None) is None:
        args.clip_device = device
    return build_config(args, **({"sample_threads": args.sample_threads} if args.sample_threads else {}))


class ViddiffModel(lmms):
    """VidDiff or a single-call baseline (compiled programs too) answering the viddiff tasks."""

    def __init__(self, out: str | None = None, batch_size: Any = None, max_batch_size: Any = None, device: str | None = None, **model_args: Any):
        super().__init__()
        self._config = config_from_model_args(model_args, device)
        self._out = Path(out) if out else None

    def generate_until(self, requests) -> list[str]:
        groups: dict[tuple[str, str], list[int]] = {}
        for request in requests:
            _, _, _, doc_id, task, split = request.args
            groups.setdefault((task, split), []).append(doc_id)
        replies: dict[tuple[str, str, int], str] = {}
        for (task, split), doc_ids in groups.items():
            docs = {doc_id: self.task_dict[task][split][doc_id] for doc_id in doc_ids}
            for doc_id, reply in self._answer(task, docs).items():
                replies[(task, split, doc_id)] = reply
        return [replies[(r.args[4], r.args[5], r.args[3])] for r in requests]

    def loglikelihood(self, requests):
        raise ViddiffError("the viddiff model answers generation tasks (viddiff_closed, viddiff_open), not loglikelihood ones")

    def generate_until_multi_round(self, requests):
        raise ViddiffError("the viddiff model answers one round per document (viddiff_closed, viddiff_open)")

    def _answer(self, task_name: str, docs: Mapping[int, Mapping[str, Any]]) -> dict[int, str]:
        """Run the documents of one task as a viddiff run; each document's reply."""
        import dataclasses

        from viddiff.data.benchmark import Benchmark
        from viddiff.evaluation.predictions import to_benchmark_format
        from viddiff.run_log import MANIFEST_FILE, RunLog, new_run_path
        from viddiff.runner import run_task
        from viddiff.task import Task

        kinds = {(doc_mode(doc), doc_source(doc), doc_video_root(doc)) for doc in docs.values()}
        if len(kinds) != 1:
            raise ViddiffError(f"task {task_name} mixes documents of several modes, benchmarks or video folders")
        mode, source, video_root = kinds.pop()
        samples = [doc_sample(doc, doc_id) for doc_id, doc in sorted(docs.items())]
        config = dataclasses.replace(self._config, mode=mode, source=source, video_root=str(video_root) if video_root else None).validate()
        bench = Benchmark(source=config.source, samples=samples, n_rows=max(docs) + 1)
        task = Task.of_benchmark(config, bench)
        out = self._out / task_name if self._out else new_run_path("runs", f"lmms-eval-{task_name}")
        api_keys = task.api_keys(os.environ, task.roles(scoring=False))
        run_task(task, api_keys, out, resume=(out / MANIFEST_FILE).is_file())
        records = RunLog(out).records()
        rows = to_benchmark_format(records.values(), bench.n_rows)
        failed = sum(r.status != "ok" for r in records.values())
        if failed:
            print(f"viddiff: {failed} of {len(records)} documents of {task_name} had errors (their differences count as missing); see {out}/records.jsonl", file=sys.stderr)
        return {doc_id: json.dumps(rows[doc_id]) for doc_id in docs}
