// npm run soak -- --runs N --seed S [--environments E] [--time-scale T] [--log-dir D] [--quiet]: the seeded soak against the
// embedded emulator (see test/soak/soak.ts); prints its counts and exits 1 on any violation.
import { parseArgs } from 'node:util';
import { formatReport, runSoak } from '../test/soak/soak.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    environments: { type: 'string', default: '5' },
    'time-scale': { type: 'string', default: '50' },
    quiet: { type: 'boolean', default: false },
    'log-dir': { type: 'string' },
  },
});
const number = (name: string, value: string, min: number): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) {
    console.error(`--${name} must be an integer of at least ${min}, not ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return parsed;
};

const report = await runSoak({
  runs: number('runs', values.runs, 1),
  seed: number('seed', values.seed, 0),
  environments: number('environments', values.environments, 1),
  timeScale: number('time-scale', values['time-scale'], 1),
  log: values.quiet ? undefined : (line) => console.log(line),
  logDir: values['log-dir'],
});
console.log(`\n${formatReport(report)}`);
if (report.violations.length > 0) process.exitCode = 1;
