"""Plain PyTorch Stacked Hourglass / ACNN throughput, the reference for `benchmarks.model`.

    python -m benchmarks.torch_hourglass [--model acnn|hourglass] [--stacks 2] ...
        [--precision float32|bfloat16] [--layout channels_first|channels_last]
        [--optimizer rmsprop|adam]

Runs the same network as `kerashg.StackedHourglass` / `kerashg.ACNN` in plain
PyTorch (`benchmarks.torch_network`, written like
princeton-vl/pytorch_stacked_hourglass), eager, and prints one JSON line with
the forward and training-step images/s and the process's peak resident memory
(`rss_mb`, VmHWM, MB of 2**20 bytes) at the end. The training step is the one
`benchmarks.model` times in Keras: MSE over every stage's heatmaps against a
random target of the output's shape `(B, S, K, H/4, W/4)`, then one step of the
same optimizer with the same constants (`torch.optim.RMSprop` alpha 0.99,
eps 1e-8, or `torch.optim.Adam` eps 1e-8; lr 2.5e-4). PyTorch is optional and
not a kerashg dependency: `benchmarks.model --torch` runs this command in a
subprocess per configuration, so that the two frameworks never share a process,
a thread pool or a memory peak.
"""

import argparse
import json

from kerashg import cli
from kerashg.errors import InputError

NUM_KEYPOINTS = 16
DEPTH = 4


def make_optimizer(name, parameters, learning_rate):
    """The PyTorch twin of `benchmarks.model.make_keras_optimizer`.

    Torch's RMSprop divides by `sqrt(v) + eps`, Keras' by `sqrt(v + eps)`; the
    update differs only for gradients near sqrt(eps) and costs the same, so
    the speed comparison is not affected.

    Args:
        name: "rmsprop" or "adam".
        parameters: the network's parameters.
        learning_rate: float.

    Returns:
        A `torch.optim.Optimizer`.
    """
    import torch

    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=learning_rate, alpha=0.99, eps=1e-8)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)
    raise InputError(f"--optimizer must be rmsprop or adam. Received: {name}")


def benchmark(
    model_name,
    stacks,
    filters,
    input_size,
    batch_size,
    steps,
    warmup,
    threads,
    precision,
    layout,
    optimizer="rmsprop",
    learning_rate=2.5e-4,
):
    """Forward and training-step images/s of the PyTorch network, and its peak memory.

    Args:
        model_name: "hourglass" or "acnn".
        stacks, filters, input_size, batch_size: the network and the batch.
        steps, warmup: timed and untimed calls of each step.
        threads: intra-op threads, or None for PyTorch's default.
        precision: "float32", or "bfloat16" (CPU autocast).
        layout: "channels_first" (PyTorch's default) or "channels_last".
        optimizer: "rmsprop" or "adam" (`make_optimizer`).
        learning_rate: float.

    Returns:
        Dict with `params`, `forward` and `train` (images/s), `rss_mb` (peak
        resident memory of this process, MB) and the settings.
    """
    import torch

    from benchmarks.model import peak_rss_mb, time_calls
    from benchmarks.torch_network import PoseNet

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = PoseNet(stacks, NUM_KEYPOINTS, filters, DEPTH, attention=model_name == "acnn")
    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    net = net.to(memory_format=memory_format)
    images = torch.rand(batch_size, 3, input_size, input_size).to(memory_format=memory_format)
    heatmap_size = input_size // 4
    # One target per stage: every stage's heatmaps are supervised, as in Keras.
    targets = torch.rand(batch_size, stacks, NUM_KEYPOINTS, heatmap_size, heatmap_size)
    step_optimizer = make_optimizer(optimizer, net.parameters(), learning_rate)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")

    def forward():
        with torch.no_grad(), autocast:
            return net(images)

    def train_step():
        step_optimizer.zero_grad(set_to_none=True)
        with autocast:
            outputs = net(images)
        loss = torch.mean((outputs.float() - targets) ** 2)
        loss.backward()
        step_optimizer.step()
        return loss

    result = {
        "framework": "torch",
        "params": sum(p.numel() for p in net.parameters() if p.requires_grad),
        "precision": precision,
        "layout": layout,
        "optimizer": optimizer,
    }
    for name, fn, train in (("forward", forward, False), ("train", train_step, True)):
        net.train(train)
        result[name] = time_calls(fn, warmup, steps, batch_size, block=lambda _: None)
    result["rss_mb"] = peak_rss_mb()
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
    cli.check_positive(args, "stacks", "filters", "input_size", "batch_size", "steps", "threads")
    if args.warmup < 0:
        raise InputError(f"--warmup must be >= 0. Received: {args.warmup}")
    if args.input_size % 64:
        raise InputError(f"--input-size must be a multiple of 64. Received: {args.input_size}")
    from benchmarks.model import check_torch_batch

    check_torch_batch(args.batch_size, args.input_size)
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
                optimizer=args.optimizer,
            )
        )
    )


def main(argv=None) -> None:
    """Entry point of `python -m benchmarks.torch_hourglass`."""
    cli.run(build_parser, run, argv)


if __name__ == "__main__":
    main()
