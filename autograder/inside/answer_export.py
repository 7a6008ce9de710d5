"""The answers of a quiz notebook as plain data, printed by a cell the grader adds after the student's last cell.

The grader reads them as JSON and runs its own tests on them in a process of its own (notebooks/hidden_tests.py):
the verdict never rests on what the kernel's test cells report. Tensors become their shape, whether they hold
floats, and their values as float64; texts stay texts; anything else is named by its type. Written as a real
function so it is linted like the rest of the grader; verdicts.py renders it with `inspect.getsource`.
"""


def _answers_export(names, mark):
    """Print `mark` and the JSON of {name: plain value} for the notebook variables `names`. Runs IN the student's
    kernel, so it is self-contained, and its name starts with _answers_ so it does not clash with a student's."""
    import json

    from IPython import get_ipython

    namespace = get_ipython().user_ns
    max_values, max_text, max_items = 10_000, 1_000, 50

    def plain(value, depth=0):
        if isinstance(value, str):
            return {"kind": "str", "value": value[:max_text], "cut": len(value) > max_text}
        if isinstance(value, dict) and depth == 0:
            items = list(value.items())[:max_items]
            return {"kind": "dict", "value": {str(key)[:max_text]: plain(item, 1) for key, item in items}}
        try:
            import torch

            if isinstance(value, torch.Tensor):
                shape = [int(size) for size in value.shape]
                floating = bool(value.is_floating_point())
                values = None
                if value.numel() <= max_values and not value.is_complex():
                    values = value.detach().cpu().double().flatten().tolist()
                return {"kind": "tensor", "shape": shape, "floating": floating, "values": values}
        except Exception:
            pass
        return {"kind": type(value).__name__[:100]}

    answers = {name: plain(namespace[name]) if name in namespace else {"kind": "missing"} for name in names}
    print(mark + json.dumps(answers))
