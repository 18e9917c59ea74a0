"""Marshalling time for a graph the size of a large flense build.

The bound is loose so the test does not fail on a slow or busy machine; it
catches a change that makes marshalling quadratic. It measures CPU time,
which other processes on a shared machine disturb less than wall time.
Run it with ``-s`` to see the measured time.
"""

from __future__ import annotations

import time

from flense import llb

COMPONENTS = 3333  # three ops each: 9,999 ops plus the image, merge, terminal


def component_graph() -> llb.State:
    base = llb.image("debian:bookworm")
    layers = []
    for number in range(COMPONENTS):
        tag = {"flense.component": f"E{number}"}
        source = llb.local(
            "context",
            include=[f"extensions/E{number}"],
            exclude=["**/.git"],
            shared_key_hint=f"flense:E{number}",
            name=f"[E{number}] transfer",
            description=tag,
        )
        built = base.run(
            ["/bin/sh", "-c", f"make -C /src/extensions/E{number}"],
            mounts=[
                llb.bind("/src", source, readonly=True),
                llb.bind("/out", llb.scratch()),
            ],
            name=f"[E{number}] build",
            description=tag,
        )
        layer = llb.scratch().file(
            llb.copy(
                built.mount_output("/out"),
                "/",
                f"/srv/mediawiki/extensions/E{number}/",
                copy_dir_contents=True,
                create_dest_path=True,
            ),
            name=f"[E{number}] copy",
            description=tag,
        )
        layers.append(layer)
    return llb.merge([base, *layers], name="merge")


def test_marshal_ten_thousand_ops() -> None:
    platform = llb.Platform(os="linux", architecture="amd64")
    timings = []
    for _ in range(3):
        state = component_graph()
        started = time.process_time()
        data = llb.marshal(state, platform=platform).to_bytes()
        timings.append(time.process_time() - started)
    definition = llb.Definition.from_bytes(data)
    best = min(timings)
    print(f"marshalled {len(definition.ops)} ops in {best:.3f} s CPU (best of 3)")
    assert len(definition.ops) == 3 * COMPONENTS + 3
    assert best < 5.0
