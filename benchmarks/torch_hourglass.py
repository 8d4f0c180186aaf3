"""Plain PyTorch Stacked Hourglass / ACNN throughput, the reference for `benchmarks.model`.

    python -m benchmarks.torch_hourglass [--model acnn|hourglass] [--stacks 2] ...

Runs the same network as `kerashg.StackedHourglass` / `kerashg.ACNN` in plain
PyTorch (`benchmarks.torch_network`, written like
princeton-vl/pytorch_stacked_hourglass) and prints one JSON line with the
forward and training-step images/s. PyTorch is optional and not a kerashg
dependency: `benchmarks.model --torch` runs this command in a subprocess, so
the two frameworks never share a process or a thread pool.
"""

import argparse
import json
import time

from kerashg import cli
from kerashg.errors import InputError


def benchmark(
    model_name, stacks, filters, input_size, batch_size, steps, warmup, threads, precision, layout
):
    """Forward and training-step images/s of the PyTorch network."""
    import torch

    from benchmarks.torch_network import PoseNet

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = PoseNet(stacks, 16, filters, 4, attention=model_name == "acnn")
    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    net = net.to(memory_format=memory_format)
    images = torch.rand(batch_size, 3, input_size, input_size).to(memory_format=memory_format)
    targets = torch.rand(batch_size, 1, 16, input_size // 4, input_size // 4)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")

    def forward():
        with torch.no_grad(), autocast:
            return net(images)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            outputs = net(images)
        loss = torch.mean((outputs.float() - targets) ** 2)
        loss.backward()
        optimizer.step()
        return loss

    result = {
        "params": sum(p.numel() for p in net.parameters() if p.requires_grad),
        "precision": precision,
        "layout": layout,
    }
    for name, fn, train in (("forward", forward, False), ("train", train_step, True)):
        net.train(train)
        for _ in range(warmup):
            fn()
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        result[name] = batch_size * steps / (time.perf_counter() - start)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m benchmarks.torch_hourglass`."""
    from benchmarks.model import add_network_arguments

    parser = cli.parser("python -m benchmarks.torch_hourglass", __doc__)
    add_network_arguments(parser)
    parser.add_argument(
        "--threads", type=int, default=None, help="intra-op threads (default: PyTorch's own)"
    )
    parser.add_argument(
        "--precision",
        choices=["float32", "bfloat16"],
        default="float32",
        help="bfloat16: CPU autocast",
    )
    parser.add_argument(
        "--layout",
        choices=["channels_last", "channels_first"],
        default="channels_last",
        help="memory format of images and network",
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Runs the benchmark the parsed arguments describe; prints one JSON line."""
    for name in ("stacks", "filters", "input_size", "batch_size", "steps", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1. Received: {value}")
    if args.input_size % 64:
        raise InputError(f"--input-size must be a multiple of 64. Received: {args.input_size}")
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise InputError(
            "PyTorch is not installed (pip install torch); it is only needed for this "
            "reference benchmark"
        ) from None
    print(
        json.dumps(
            benchmark(
                args.model,
                args.stacks,
                args.filters,
                args.input_size,
                args.batch_size,
                args.steps,
                args.warmup,
                args.threads,
                args.precision,
                args.layout,
            )
        )
    )


def main(argv=None) -> None:
    """Entry point of `python -m benchmarks.torch_hourglass`."""
    cli.run(build_parser, run, argv)


if __name__ == "__main__":
    main()
