// Prints the ten test files that took longest, at the end of a run, to see where the suite's time goes.
// A file's time is its wall-clock time in its worker: start-up and imports, hooks (services, databases,
// fixtures) and tests. Files run in parallel, so the times add up to more than the run's Duration.
import type { Reporter, TestModule } from 'vitest/node';

const SHOWN = 10;

export default class SlowestFiles implements Reporter {
  private readonly times = new Map<string, number>();

  onTestModuleEnd(module: TestModule): void {
    const d = module.diagnostic();
    this.times.set(
      module.relativeModuleId,
      d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration,
    );
  }

  onTestRunEnd(): void {
    if (this.times.size === 0) return;
    const slowest = [...this.times].sort((a, b) => b[1] - a[1]).slice(0, SHOWN);
    const lines = slowest.map(([file, ms]) => `${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
    console.log(`\nSlowest test files (wall time in their worker):\n${lines.join('\n')}`);
  }
}
