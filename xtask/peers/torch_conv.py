"""PyTorch's times for the layers of `cargo xtask bench conv` (xtask/src/conv_bench.rs).

Forward, input-gradient and weight-gradient milliseconds (medians) of each 4x4, stride 2,
padding 1 convolution or transposed convolution at batch 128; the gradient times are those
of forward + backward with only the input (or only the weights) requiring a gradient, less
the forward time, as genlab's bench measures them. Prints one JSON line.
"""

import argparse
import json
import time

import torch
from torch import nn

LAYERS = [
    ("dcgan D conv 1->64, 28->14", False, (1, 64), 28),
    ("dcgan D conv 64->128, 14->7", False, (64, 128), 14),
    ("dcgan G deconv 128->64, 7->14", True, (128, 64), 7),
    ("dcgan G deconv 64->1, 14->28", True, (64, 1), 14),
    ("vae enc conv 1->32, 28->14", False, (1, 32), 28),
    ("vae enc conv 32->64, 14->7", False, (32, 64), 14),
    ("vae dec deconv 64->32, 7->14", True, (64, 32), 7),
    ("vae dec deconv 32->1, 14->28", True, (32, 1), 14),
]


def median_ms(repeats, run):
    run()
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for name, transposed, (c_in, c_out), side in LAYERS:
        kind = nn.ConvTranspose2d if transposed else nn.Conv2d
        trained = kind(c_in, c_out, 4, 2, 1)
        frozen = kind(c_in, c_out, 4, 2, 1).requires_grad_(False)
        x = torch.rand(args.batch, c_in, side, side)

        def forward():
            with torch.no_grad():
                frozen(x)

        def backward(layer, inp):
            layer.zero_grad(set_to_none=True)
            out = layer(inp)
            (out * torch.ones_like(out)).sum().backward()

        forward_ms = median_ms(args.repeats, forward)
        with_input = median_ms(
            args.repeats, lambda: backward(frozen, x.clone().requires_grad_(True))
        )
        with_weights = median_ms(args.repeats, lambda: backward(trained, x))
        rows.append(
            {
                "layer": name,
                "path": "pytorch",
                "forward_ms": forward_ms,
                "input_grad_ms": with_input - forward_ms,
                "weight_grad_ms": with_weights - forward_ms,
            }
        )
    print(json.dumps({"threads": args.threads, "torch": torch.__version__, "layers": rows}))


if __name__ == "__main__":
    main()
