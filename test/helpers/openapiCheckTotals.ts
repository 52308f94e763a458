// Sums what test/setupOpenApiCheck.ts checked in the last run of each test file (test/artifacts/openapi-check/):
// `npx tsx test/helpers/openapiCheckTotals.ts`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const directory = path.resolve(import.meta.dirname, '..', 'artifacts', 'openapi-check');
const totals = { files: 0, checked: 0, unchecked: 0, byAnswer: {} as Record<string, number> };
for (const name of readdirSync(directory).filter((entry) => entry.endsWith('.json'))) {
  const counts = JSON.parse(readFileSync(path.join(directory, name), 'utf8')) as Record<'checked' | 'unchecked', Record<string, number>>;
  totals.files += 1;
  for (const [answer, count] of Object.entries(counts.checked)) {
    totals.checked += count;
    totals.byAnswer[answer] = (totals.byAnswer[answer] ?? 0) + count;
  }
  for (const count of Object.values(counts.unchecked)) totals.unchecked += count;
}
totals.byAnswer = Object.fromEntries(Object.entries(totals.byAnswer).sort(([a], [b]) => a.localeCompare(b)));
console.log(JSON.stringify(totals, null, 2));
