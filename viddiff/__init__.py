"""viddiff: tell how two people differ when performing the same action, from two videos.

The package follows the VidDiff pipeline; each stage lives in the subpackage named after it:
`data` (VidDiffBench, video frames, synthetic benchmark) and `cli` (the `viddiff` command).
"""

__version__ = "0.1.0"
