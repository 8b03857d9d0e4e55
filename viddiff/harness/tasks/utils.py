"""The functions the viddiff task YAMLs name (`!function utils.NAME`); each is viddiff's own,
from `viddiff.harness.documents`."""

import functools

from viddiff.harness.documents import aggregate, aggregate_score, doc_clips, doc_prompt, doc_target, process_results, with_mode

__all__ = ["aggregate_score", "process_results"]  # named by the YAMLs as they are

closed_docs = functools.partial(with_mode, mode="closed")
open_docs = functools.partial(with_mode, mode="open")
doc_to_visual = doc_clips
doc_to_target = doc_target
aggregate_overall = functools.partial(aggregate, metric="overall")
aggregate_easy = functools.partial(aggregate, metric="easy")
aggregate_medium = functools.partial(aggregate, metric="medium")
aggregate_hard = functools.partial(aggregate, metric="hard")
aggregate_avg = functools.partial(aggregate, metric="avg")


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return doc_prompt(doc)
