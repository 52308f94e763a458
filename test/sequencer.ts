// Starts the longest test files first, so that a run does not end with one worker still busy with a
// long file it picked up late. vitest orders by the durations it cached from earlier runs, which a
// fresh clone (CI) does not have; these are the longest files on a clean run (the list of slowest
// files every run prints says when to update it). Other files follow in vitest's own order.
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/memory.test.ts',
  'test/rest/export.test.ts',
  'test/rest/fuzz.test.ts',
  'test/main.test.ts',
  'test/graphql/pagination.test.ts',
  'test/rest/pagination.test.ts',
  'test/shutdown.test.ts',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.indexOf(path.relative(root, file.moduleId).split(path.sep).join('/'));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
