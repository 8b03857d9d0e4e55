import argparse
import base64
import io
import json
import re
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from tests.report.conftest import DIFFERENCE_ERROR, SCRIPT_ERROR
from viddiff.cli import report as report_cli
from viddiff.report import ReportError, render_report
from viddiff.report.chart import OTHER_COLOR, SIGNIFICANT_COLOR, action_chart_svg
from viddiff.report.html import render_html
from viddiff.report.tables import ERRORS_SHOWN, natural_key
from viddiff.run_log import RunLog, RunLogError, SampleRecord, load_scored_run

DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')


def _images(html: str) -> dict[str, list[Image.Image]]:
    """Embedded PNGs by alt text prefix ('bar chart', 'frames judged')."""
    images: dict[str, list[Image.Image]] = {}
    for data, alt in DATA_URI.findall(html):
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.load()
        images.setdefault(" ".join(alt.split()[:2]), []).append(image)
    return images


def _is_blank(image: Image.Image) -> bool:
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    return grey.std() < 5 or bool(np.all(grey > 250))


def test_page_is_self_contained(make_run):
    html = render_report(make_run())[0].read_text()
    references = re.findall(r'(?:src|href)\s*=\s*["\']?([^"\'\s>]*)', html, flags=re.IGNORECASE)
    assert references and all(r.startswith("data:image/png;base64,") for r in references)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()


def test_split_table_shows_the_run_next_to_the_published_rows(make_run):
    html = render_report(make_run())[0].read_text()
    for cell in ("62.5 (n=8)", "90.0* (n=10)", "50.0 (n=4)", "67.5"):
        assert f">{cell}</td>" in html
    assert "this run (openai/gpt-4o-2024-08-06)" in html
    assert re.search(
        r"VidDiff \(published\)</td>\s*"
        + r"\s*".join(f'<td class="num">{v}</td>' for v in ("62.7", "56.2", "50.0", "56.3")),
        html,
    )
    assert "ICLR 2025 camera-ready" in html and "random baseline is 50%" in html
    assert "one-sided binomial test" in html


def test_header_names_the_run(make_run):
    run = make_run()
    html = render_report(run)[0].read_text()
    for text in (
        str(run),
        "closed set / accuracy<",
        "differencer: openai/gpt-4o-2024-08-06",
        "viterbi",
        "0123456789abcdef (dirty)",
        "2025-01-02T03:04:05",
        "4 scored, 2 with errors, 0 excluded (held out), 0 not run",
        "accuracy (closed set): 72.7% of 22 differences, 0 missing (100.0% answered)",
    ):
        assert text in html


def test_action_chart_is_inline_svg_with_a_bar_per_action(make_run):
    html = render_report(make_run())[0].read_text()
    (svg,) = re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)
    chart = ElementTree.fromstring(svg)
    assert chart.get("aria-label") == "bar chart of the accuracy per action"
    # 600 px of plot for 0-115%: a bar of p% is 600 * p / 115 px wide, in the order of metrics.json
    assert [(r.findtext("title"), r.get("width"), r.get("fill")) for r in chart.iter("rect")] == [
        ("synth_jumping_jack: 90.0", "469.6", SIGNIFICANT_COLOR),
        ("synth_kick: 50.0", "260.9", OTHER_COLOR),
        ("synth_squat: 62.5", "326.1", OTHER_COLOR),
    ]
    texts = [t.text for t in chart.iter("text")]
    assert {"90.0*  n=10", "50.0  n=4", "62.5  n=8"} <= set(texts)
    (chance,) = [line for line in chart.iter("line") if line.get("class") == "chance"]
    assert chance.get("x1") == str(190 + round(600 * 50 / 115, 1))
    assert texts[-1] == "accuracy (%);  * p < 0.05 (darker bars);  dashed line: random (50%)"


def test_no_chart_when_no_action_has_a_score():
    assert action_chart_svg({"squat": {"score": None, "n": 0}}, metric="accuracy", chance=50.0) is None


def test_a_contact_sheet_per_chosen_sample(make_run):
    html = render_report(make_run(), samples=3)[0].read_text()
    sheets = _images(html)["frames judged"]
    assert len(sheets) == 2  # only rows 0 and 2 finished without errors
    assert all(not _is_blank(s) for s in sheets)
    assert html.index("synth_squat_0000 (synth_squat, easy)") < html.index("synth_kick_0002 (synth_kick, hard)")
    assert "<th>answer</th><th>label</th>" in html


def test_samples_zero_shows_no_frames(make_run):
    html = render_report(make_run(), samples=0)[0].read_text()
    assert "frames judged" not in html and "--samples 0" in html


def test_text_is_escaped_and_errors_are_listed(make_run):
    html = render_report(make_run())[0].read_text()
    assert "RuntimeError: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert SCRIPT_ERROR not in html
    assert "stale attempt" not in html  # the last record of a sample wins
    assert DIFFERENCE_ERROR in html and "Samples that failed (1)" in html
    assert "Differences left undecided by an error (1)" in html
    assert "moves &lt;faster&gt;" in html


def test_differences_sorted_by_action_then_key(make_run):
    html = render_report(make_run())[0].read_text()
    section = html[html.index('id="differences"') : html.index('id="errors"')]
    order = re.findall(r"<td class=\"text\">(synth_\w+)</td><td class=\"num\">(\d+)</td>", section)
    assert order == [("synth_jumping_jack", "0"), ("synth_kick", "1"), ("synth_squat", "2"), ("synth_squat", "10")]
    assert natural_key("2") < natural_key("10")


def test_usage_and_cost(make_run):
    html = render_report(make_run())[0].read_text()
    assert "run: openai/gpt-4o-2024-08-06" in html and ">3150</td>" in html  # 3 records x 1050 tokens
    assert "$0.04" in html and "scoring" not in html  # the run's cost, not repeated as the scoring's


def test_markdown_summary(make_run):
    markdown = render_report(make_run())[1].read_text()
    assert "| system | easy | medium | hard | avg |" in markdown
    assert (
        "| **this run (openai/gpt-4o-2024-08-06)** | **62.5 (n=8)** | **90.0\\* (n=10)** | **50.0 (n=4)** | **67.5** |"
        in markdown
    )
    assert "| VidDiff (published) | 62.7 | 56.2 | 50.0 | 56.3 |" in markdown
    assert "| synth_jumping_jack | 90.0\\* | 10 | 9 | 0 | 100.0 | 0.011 |" in markdown
    assert "- samples that failed: 1" in markdown and "- differences left undecided by an error: 1" in markdown
    assert "run cost: $0.04" in markdown


def test_missing_videos_show_a_message(make_run, tmp_path):
    empty = tmp_path / "no-videos"
    empty.mkdir()
    html = render_report(make_run(video_root=empty))[0].read_text()
    assert "frames judged" not in html
    assert html.count('class="problem"') == 2 and "not found" in html
    assert "62.5 (n=8)" in html  # the rest of the page is there


def test_open_mode_shows_recall_and_matches(make_run):
    html_path, markdown_path = render_report(make_run("open"))
    html = html_path.read_text()
    assert "recall@N_diff (verify-then-match protocol)" in html
    assert "| VidDiff (published) | 49.9 | 37.9 | 38.5 | 42.1 |" in markdown_path.read_text()
    assert "2: b (states the opposite: answer flipped)" in html and "unmatched" in html


def test_errors_are_capped(make_run):
    run = make_run()
    log = RunLog(run)
    for i in range(ERRORS_SHOWN + 7):
        log.append(SampleRecord(sample_key=f"failed_{i}", row_index=None, status="error", error=f"boom {i}"))
    html = render_report(run)[0].read_text()
    assert f"Samples that failed ({ERRORS_SHOWN + 8})" in html and "… and 8 more." in html


def test_missing_run_directory(tmp_path):
    with pytest.raises(RunLogError, match="no such run directory"):
        render_report(tmp_path / "nothing")


def test_unscored_run(make_run):
    run = make_run()
    (run / "metrics.json").unlink()
    with pytest.raises(RunLogError) as error:
        render_report(run)
    assert "is not scored; finish and score it with `viddiff run --out" in str(error.value) and "\n" not in str(error.value)
    assert f"`viddiff eval --run {run}`" in str(error.value)


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("metrics.json", '{"schema_version": 1}', "not metrics of this viddiff's schema 2"),
        ("manifest.json", '{"schema_version": 1}', "schema_version 1 is not supported"),
        ("manifest.json", "{oops", "not valid JSON"),
    ],
)
def test_unreadable_run_files(make_run, file, text, message):
    run = make_run()
    (run / file).write_text(text)
    with pytest.raises(RunLogError, match=message):
        render_report(run)


def test_negative_samples(make_run):
    with pytest.raises(ReportError, match="samples must be 0 or more"):
        render_report(make_run(), samples=-1)


def test_page_renders_with_empty_metrics(make_run):
    run = load_scored_run(make_run())
    empty = {**run.metrics, "splits": {}, "actions": {}, "domains": {}, "differences": {}, "avg": None}
    html = render_html(run.model_copy(update={"metrics": empty}), None, [])
    assert "No action has a score." in html and ">–</td>" in html


def test_cli_writes_both_files_to_out(make_run, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_cli.add_parser(parser.add_subparsers())
    out = tmp_path / "reports"
    args = parser.parse_args(["report", str(make_run()), "--samples", "1", "--out", str(out)])
    assert args.run(args) == 0
    assert (out / "report.html").exists() and (out / "report.md").exists()
    assert len(_images((out / "report.html").read_text())["frames judged"]) == 1
    assert str(out / "report.html") in capsys.readouterr().out


def test_avg_is_left_empty_unless_every_split_was_scored(make_run):
    run = make_run()
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["splits"]["hard"]
    metrics.update(avg=None, mean_of_scored_splits={"score": 0.7625, "splits": ["easy", "medium"]})
    (run / "metrics.json").write_text(json.dumps(metrics))
    html, markdown = (path.read_text() for path in render_report(run, samples=0))
    assert "| **this run (openai/gpt-4o-2024-08-06)** | **62.5 (n=8)** | **90.0\\* (n=10)** | **–** | **–** |" in markdown
    assert "Mean of scored splits (easy, medium): 76.2 (not comparable to the published Avg)" in html


def test_open_recall_has_no_significance_mark(make_run):
    html = render_report(make_run("open"), samples=0)[0].read_text()
    assert "*" not in html[html.index('id="splits"') : html.index('id="domains"')].replace("*/", "")
    assert "Recall has no chance level: no test against 50%." in html and "one-sided binomial" not in html


def test_c_labelled_differences_are_not_marked_as_disagreeing(make_run):
    html = render_report(make_run(), samples=3)[0].read_text()
    kick = html[html.index("synth_kick_0002 (synth_kick, hard)") :]
    # Key 0 of the kick sample is labelled c: shown, never marked as disagreeing.
    assert re.search(r'<td class="num">0</td><td class="text">[^<]*</td><td class="text">a</td><td class="text">c</td><td class="text">not scored \(label c\)</td>', kick)


def test_localization_error_is_summarised_per_video(make_run):
    run = make_run()
    record = load_scored_run(run).records[0]
    RunLog(run).append(record.model_copy(update={"localization_errors": {"0": [0.25, None], "1": [0.75, 1.5]}}))
    html = render_report(run, samples=0)[0].read_text()
    section = html[html.index('id="localization"') : html.index('id="errors"')]
    assert re.search(r">A</td><td class=\"num\">2</td><td class=\"num\">0.50</td><td class=\"num\">0.50</td><td class=\"num\">50.0</td><td class=\"num\">100.0</td>", section)
    assert re.search(r">B</td><td class=\"num\">1</td><td class=\"num\">1.50</td>", section)


def test_synthetic_scores_carry_a_caveat_beside_the_published_rows(make_run):
    html, markdown = (path.read_text() for path in render_report(make_run(), samples=0))
    caveat = "This run is on the synthetic benchmark (`viddiff synth`): its scores are not comparable to the published VidDiffBench rows."
    assert caveat in html.replace("&#x27;", "'") and caveat in markdown


def test_other_runs_of_the_benchmark_sit_beside_it_with_their_cost_per_sample(make_run, capsys):
    run, frames = make_run(), make_run(name="frames", system="frames")
    html_path, markdown_path = render_report(run, others=[frames])
    html, markdown = html_path.read_text(), markdown_path.read_text()
    # The split table: this run, the frames run (labelled with its system, models and folder), the published rows.
    cells = "| 62.5 (n=8) | 90.0\\* (n=10) | 50.0 (n=4) | 67.5 |"
    assert "| **this run (openai/gpt-4o-2024-08-06)** | **62.5 (n=8)** |" in markdown
    assert f"| frames (openai/gpt-4o-2024-08-06) [frames] {cells}" in markdown
    assert markdown.index("[frames] |") < markdown.index("VidDiff (published)")
    # Cost per sample: 4 records, 3 of 1,050 tokens and $0.0125; the VidDiff records predate the counts.
    assert "| run | samples | LM calls | images | videos | tokens | cost |" in markdown
    assert "| **viddiff (localization viterbi) [run]** | **4** | **–** | **–** | **–** | **788** | **$0.0094** |" in markdown
    assert "| frames [frames] | 4 | 1.0 | 20.0 | 0.0 | 788 | $0.0094 |" in markdown
    assert "frames [frames]</td>" in html and "<dt>system</dt><dd>viddiff (localization viterbi)</dd>" in html
    assert report_cli.run(argparse.Namespace(run_dir=str(run), others=[str(frames)], samples=0, out=None)) == 0


def test_runs_of_another_mode_are_refused(make_run):
    with pytest.raises(ReportError, match=r"open-set run of .*; the report sets beside .* only closed-set runs of"):
        render_report(make_run(), others=[make_run("open", name="open")])
