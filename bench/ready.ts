// What the benchmarks share when they start a service instance of their own.
import type { ChildProcess } from 'node:child_process';

/** Waits until the instance at `url` answers /readyz with 200; throws if it exits first or takes a minute. */
export async function waitUntilReady(name: string, child: ChildProcess, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
